"""KushRouter: `GET {base}/api/v1/generations?id=ID` (the alias `/api/v1/generation` answers 307).

The answer is `{"success": true, "generation": {...}}` with token usage and no cost: what was
charged is computed from ModelPrice and the gateway's discount. Only the key that made a
generation may read it, and records are kept for at least 7 days. `success: false` is an
error: NotFound when the gateway says it does not know the id, BadPayload otherwise.
"""

from generations.gateways.adapter import GatewayAdapter, endpoint
from generations.gateways.base import BadPayload, GatewayGenerationRecord, NotFound
from generations.gateways.fields import (
    read_bool,
    read_count,
    read_datetime,
    read_object,
    read_string,
    scalars,
)
from generations.gateways.http import HttpRequest, bearer_headers, load_json_object

LOOKUP_PATH = "/api/v1/generations"
LOOKUP_PATHS = (LOOKUP_PATH, "/api/v1/generation")
EXTRA_FIELDS = ("endpoint", "status", "apiKeyId")


def parse_body(body: str) -> GatewayGenerationRecord:
    """Read a KushRouter answer body into the normalised record (BadPayload if unreadable)."""
    envelope = load_json_object(body)
    success = read_bool(envelope, "success", required=True)
    if not success:
        message = str(envelope.get("error") or envelope.get("message") or "no reason given")[:200]
        if "not found" in message.lower():
            raise NotFound(f"KushRouter: {message}")
        raise BadPayload(f"KushRouter answered success: false: {message}")
    generation = read_object(envelope, "generation", required=True)
    usage = read_object(generation, "usage")
    read_count(usage, "total_tokens")  # type-checked; the total is derived, not stored
    reasoning = read_count(read_object(usage, "completion_tokens_details"), "reasoning_tokens")
    return GatewayGenerationRecord(
        id=read_string(generation, "id", required=True),
        raw=body,
        served_model=read_string(generation, "model"),
        created_at=read_datetime(generation, "created_at"),
        tokens_prompt=read_count(usage, "prompt_tokens"),
        tokens_completion=read_count(usage, "completion_tokens"),
        tokens_cached=read_count(usage, "cache_read_input_tokens"),
        tokens_cache_write=read_count(usage, "cache_creation_input_tokens"),
        tokens_reasoning=reasoning,
        streamed=read_bool(generation, "stream"),
        finish_reason=read_string(generation, "finish_reason"),
        extra=scalars(generation, EXTRA_FIELDS),
    )


class KushRouterAdapter(GatewayAdapter):
    kind = "kushrouter"

    lookup_path = LOOKUP_PATH

    def build_request(
        self, *, base_url: str, path: str, generation_id: str, secret: str
    ) -> HttpRequest:
        # A base URL may point at the `/api/v1/generation` alias; its 307 is followed by http.py.
        if base_url.rstrip("/").endswith(LOOKUP_PATHS):
            path = ""
        return HttpRequest(
            "GET", endpoint(base_url, path), params={"id": generation_id}, headers=bearer_headers(secret)
        )

    def parse_body(self, body: str) -> GatewayGenerationRecord:
        return parse_body(body)
