"""What today's gateways add to their answers, beyond the record itself.

- OpenRouter: every key its current schema requires (the official `openrouter` SDK refuses an
  answer without `num_fetches`, `preset_id`, `web_search_engine` or `workspace_id`), the
  `provider_responses` of the attempts behind a call (fallbacks included), response-cache hits,
  `upstream_inference_cost` on calls that are not BYOK (equal to `total_cost`), and
  `X-RateLimit-Limit/Remaining/Reset` headers (Reset in milliseconds since the epoch).
- FastRouter: its documented error bodies, `{"error": {"message", "type", "code", "status"}}`.
- Script steps "402:N" (402 with Retry-After: a temporary in-flight budget) and "400" (a lookup
  the gateway refuses: a malformed id).
"""

import hashlib
import time
from decimal import Decimal
from typing import Any

# OpenRouter's schema keys that may be null but must be present (openrouter SDK 1.3).
OPENROUTER_REQUIRED_NULLABLE = (
    "num_fetches",
    "preset_id",
    "web_search_engine",
    "workspace_id",
    "provider_responses",
    "http_referer",
    "user_agent",
    "router",
    "app_id",
    "external_user",
)
# What the simulator says its rate-limit window is when none is configured.
DEFAULT_RATE_LIMIT = 1000

FASTROUTER_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_credits",
    403: "moderation_blocked",
    404: "not_found_error",
    429: "rate_limit_error",
}


def openrouter_completed(
    body: dict[str, Any],
    *,
    model: str,
    provider: str,
    is_byok: bool,
    cost: Decimal,
    upstream_inference_cost: Decimal | None,
    fallback_from: str | None = None,
    response_cache_source_id: str | None = None,
) -> dict[str, Any]:
    """An OpenRouter `data` object with what production adds; `fallback_from` names a provider
    that failed first (a 429 attempt in provider_responses)."""
    for name in OPENROUTER_REQUIRED_NULLABLE:
        body.setdefault(name, None)
    body.setdefault("origin", "")
    if upstream_inference_cost is None and not is_byok:
        upstream_inference_cost = cost  # production: a breakdown of total_cost on calls that are not BYOK
    body["upstream_inference_cost"] = upstream_inference_cost
    attempts = []
    if fallback_from:
        attempts.append(_provider_attempt(body, model=model, provider=fallback_from, status=429, is_byok=is_byok))
    attempts.append(_provider_attempt(body, model=model, provider=provider, status=200, is_byok=is_byok))
    body["provider_responses"] = attempts
    if response_cache_source_id:
        body["response_cache_source_id"] = response_cache_source_id
        for name in ("native_tokens_prompt", "native_tokens_completion", "native_tokens_cached", "native_tokens_reasoning",
                     "tokens_prompt", "tokens_completion"):
            body[name] = 0
        body["total_cost"] = body["usage"] = Decimal(0)
        body["upstream_inference_cost"] = Decimal(0)
    return body


def _provider_attempt(body: dict[str, Any], *, model: str, provider: str, status: int, is_byok: bool) -> dict[str, Any]:
    return {
        "endpoint_id": f"ep-{provider.lower()}-{hashlib.sha256(model.encode()).hexdigest()[:8]}",
        "id": body.get("upstream_id") if status == 200 else None,
        "is_byok": is_byok,
        "latency": 120 if status != 200 else body.get("latency"),
        "model_permaslug": model,
        "provider_name": provider,
        "status": status,
    }


def rate_limit_headers(*, limit: int, used_this_second: int) -> dict[str, str]:
    """OpenRouter's X-RateLimit-* headers for a one-second window."""
    limit = limit or DEFAULT_RATE_LIMIT
    reset_ms = (int(time.time()) + 1) * 1000
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(limit - used_this_second, 0)),
        "X-RateLimit-Reset": str(reset_ms),
    }


def fastrouter_error(status: int, message: str) -> dict[str, Any]:
    """FastRouter's documented error body."""
    error_type = FASTROUTER_ERROR_TYPES.get(status, "api_error")
    return {"error": {"message": message, "type": error_type, "code": error_type, "status": status}}


def payment_required_with_retry_after(step: str) -> tuple[int, dict[str, str]] | None:
    """"402:N": a 402 carrying Retry-After N (a temporary in-flight budget)."""
    if not step.startswith("402:"):
        return None
    return 402, {"Retry-After": step[4:]}
