"""FastRouter: `POST {base}/api/v1/generation` with `{"generation_id": ID}`.

The answer is one flat object whose fields are all optional: `credits_used` is what was
charged (USD), `api_key` is a hash of the key that made the call (compare it with ours),
`created_at` is a Unix time and `query_time` an ISO time. A missing id is filled in by the
client with the id that was asked for.
"""

from decimal import Decimal

from generations.gateways.adapter import GatewayAdapter, endpoint
from generations.gateways.base import GatewayGenerationRecord
from generations.gateways.fields import (
    read_bool,
    read_count,
    read_datetime,
    read_decimal,
    read_money,
    read_milliseconds,
    read_string,
    scalars,
)
from generations.gateways.display import display, set_aside_note, shown
from generations.gateways.http import HttpRequest, bearer_headers, load_json_object

MILLISECONDS_PER_MINUTE = Decimal(60_000)
EXTRA_FIELDS = ("endpoint", "query_time", "avg_tokens_per_nano", "avg_response_time_minutes_per_transaction")


def parse_body(body: str) -> GatewayGenerationRecord:
    """Read a FastRouter answer body into the normalised record (BadPayload if unreadable)."""
    data = load_json_object(body)
    set_aside: list[str] = []
    display(read_decimal, data, "avg_tokens_per_nano", set_aside)  # shown only, in extra
    created_at = read_datetime(data, "created_at") or display(read_datetime, data, "query_time", set_aside)
    return GatewayGenerationRecord(
        id=read_string(data, "id"),
        raw=body,
        served_model=read_string(data, "model"),
        provider=display(read_string, data, "provider_name", set_aside) or "",
        created_at=created_at,
        credits_used=read_money(data, "credits_used"),
        tokens_prompt=read_count(data, "input_token_size"),
        tokens_completion=read_count(data, "output_token_size"),
        is_byok=read_bool(data, "is_byok"),
        latency_ms=display(
            read_milliseconds,
            data,
            "avg_response_time_minutes_per_transaction",
            set_aside,
            scale=MILLISECONDS_PER_MINUTE,
        ),
        key_hash=read_string(data, "api_key"),
        extra={**scalars(shown(data, set_aside), EXTRA_FIELDS), **set_aside_note(set_aside)},
    )


class FastRouterAdapter(GatewayAdapter):
    kind = "fastrouter"

    def build_request(
        self, *, base_url: str, path: str, generation_id: str, secret: str
    ) -> HttpRequest:
        return HttpRequest(
            "POST",
            endpoint(base_url, path),
            json={"generation_id": generation_id},
            headers=bearer_headers(secret),
        )

    def parse_body(self, body: str) -> GatewayGenerationRecord:
        return parse_body(body)
