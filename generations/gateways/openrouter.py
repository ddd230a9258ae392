"""OpenRouter, and OpenRouter-compatible gateways: `GET {base}/api/v1/generation?id=ID`.

The answer is `{"data": {...}}`. Per OpenRouter's documentation (and its Go SDK's type), id,
created_at, model, total_cost, usage and is_byok are always present; every other field may
be null, and new fields appear over time: they stay in the raw body and are never an error.
Token counts are the provider's native ones; `tokens_prompt`/`tokens_completion` (OpenRouter's
own normalised counts) are kept under `extra`.
"""

from generations.gateways.adapter import GatewayAdapter, endpoint
from generations.gateways.base import BadPayload, GatewayGenerationRecord
from generations.gateways.fields import (
    read_bool,
    read_count,
    read_datetime,
    read_money,
    read_milliseconds,
    read_object,
    read_string,
    scalars,
)
from generations.gateways.display import display, set_aside_note, shown
from generations.gateways.http import HttpRequest, bearer_headers, load_json_object

EXTRA_FIELDS = (
    "upstream_id",
    "origin",
    "router",
    "api_type",
    "service_tier",
    "data_region",
    "request_id",
    "session_id",
    "native_finish_reason",
    "app_id",
    "external_user",
    "generation_time",
    "moderation_latency",
    "tokens_prompt",
    "tokens_completion",
    "native_tokens_completion_images",
    "num_media_prompt",
    "num_media_completion",
    "num_input_audio_prompt",
    "num_search_results",
    "num_fetches",
    "web_search_engine",
    "response_cache_source_id",
    "preset_id",
    "workspace_id",
)
# Counters that are shown (and tell charges that are not tokens apart), never needed to reconcile.
DISPLAY_COUNTS = (
    "native_tokens_completion_images",
    "tokens_prompt",
    "tokens_completion",
    "num_media_prompt",
    "num_media_completion",
    "num_input_audio_prompt",
    "num_search_results",
    "num_fetches",
    "generation_time",
    "moderation_latency",
)


def parse_body(body: str) -> GatewayGenerationRecord:
    """Read an OpenRouter answer body into the normalised record (BadPayload if unreadable)."""
    data = read_object(load_json_object(body), "data", required=True)
    set_aside: list[str] = []
    for name in DISPLAY_COUNTS:
        display(read_count, data, name, set_aside)
    return GatewayGenerationRecord(
        id=read_string(data, "id", required=True),
        raw=body,
        served_model=read_string(data, "model", required=True),
        provider=display(read_string, data, "provider_name", set_aside) or "",
        created_at=read_datetime(data, "created_at", required=True),
        total_cost=read_money(data, "total_cost", required=True),
        usage=read_money(data, "usage", required=True),
        upstream_inference_cost=read_money(data, "upstream_inference_cost"),
        cache_discount=read_money(data, "cache_discount"),
        tokens_prompt=read_count(data, "native_tokens_prompt"),
        tokens_completion=read_count(data, "native_tokens_completion"),
        tokens_cached=read_count(data, "native_tokens_cached"),
        tokens_cache_write=read_count(data, "native_tokens_cache_write"),
        tokens_reasoning=read_count(data, "native_tokens_reasoning"),
        # OpenRouter always sends is_byok; a compatible gateway may not: then it is unknown.
        is_byok=read_bool(data, "is_byok"),
        cancelled=display(read_bool, data, "cancelled", set_aside),
        streamed=display(read_bool, data, "streamed", set_aside),
        finish_reason=display(read_string, data, "finish_reason", set_aside) or "",
        latency_ms=display(read_milliseconds, data, "latency", set_aside),
        extra={**scalars(shown(data, set_aside), EXTRA_FIELDS), **set_aside_note(set_aside)},
    )


class OpenRouterAdapter(GatewayAdapter):
    kind = "openrouter"

    def build_request(
        self, *, base_url: str, path: str, generation_id: str, secret: str
    ) -> HttpRequest:
        return HttpRequest(
            "GET",
            endpoint(base_url, path),
            params={"id": generation_id},
            headers=bearer_headers(secret),
        )

    def parse_body(self, body: str) -> GatewayGenerationRecord:
        return parse_body(body)


__all__ = ["BadPayload", "OpenRouterAdapter", "parse_body"]
