"""LiteLLM's `generic_api` logging callback: StandardLoggingPayload objects to ingest records.

The callback (litellm/integrations/generic_api/generic_api_callback.py, `GenericAPILogger`; docs:
https://docs.litellm.ai/docs/observability/generic_api) POSTs its queue of
`StandardLoggingPayload`s (litellm/types/utils.py) with the `headers` configured for it, as
`log_format` says: `json_array` (the default: one JSON array), `ndjson` (one object a line) or
`single` (one object a request). Fields read here:

- `status` ("success" / "failure"), `cache_hit`, `id` (the provider's response id: OpenRouter's
  `gen-...`; LiteLLM falls back to its own `litellm_call_id` when the response had none, and
  suffixes `_cache_hit<time>` on cache hits), `litellm_call_id`;
- `response_cost` (a JSON number; for OpenRouter LiteLLM copies the response's `usage.cost`),
  kept exactly as written, never through float;
- `prompt_tokens`, `completion_tokens`; cached and reasoning tokens and OpenRouter's `is_byok` from
  the usage object (`metadata.usage_object`, `hidden_params.usage_object` or `response.usage`:
  `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`);
- `startTime` (epoch seconds) as created_at; `stream`;
- the model asked for: `hidden_params.litellm_model_name` (what was sent, e.g.
  `openrouter/openai/gpt-4o-mini`), else `model`, without LiteLLM's provider prefix;
- where it went: `custom_llm_provider`, `api_base`; which key: `model_id` (the deployment) or
  `model_group`, matched against `ApiKey.litellm_models`, then `api_base` against
  `ApiKey.litellm_api_base`, then the `X-Tally-Api-Key` header.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from generations.sources.keys import Skip, TeamKeys, normalized_base
from generations.sources.recording import MAX_PAYLOADS, NotTheFormat, TooManyPayloads
from lib.exact_json import loads_exact

# Fields every StandardLoggingPayload has; a JSON object without them is not one.
SIGNATURE_FIELDS = frozenset({"id", "status", "response_cost", "startTime"})


def payloads_from_body(body: bytes) -> list[dict]:
    """The payloads of a request in any of the three log formats; NotTheFormat if it is none."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise NotTheFormat("The body is not UTF-8 text.") from None
    if not text:
        raise NotTheFormat("The body is empty; LiteLLM's generic_api callback sends StandardLoggingPayload JSON.")
    try:
        try:
            parsed = loads_exact(text)
        except ValueError:
            # ndjson: one object a line (a single-line body parses whole above)
            parsed = [loads_exact(line) for line in text.splitlines() if line.strip()]
    except (ValueError, RecursionError) as error:
        raise NotTheFormat(f"The body is not JSON, a JSON array or newline-delimited JSON: {error}") from None
    payloads = parsed if isinstance(parsed, list) else [parsed]
    if len(payloads) > MAX_PAYLOADS:
        raise TooManyPayloads(f"at most {MAX_PAYLOADS} payloads a request; lower the callback's batch_size")
    for index, payload in enumerate(payloads):
        if not isinstance(payload, dict) or not SIGNATURE_FIELDS <= payload.keys():
            raise NotTheFormat(
                f"item {index} is not a LiteLLM StandardLoggingPayload (needs {', '.join(sorted(SIGNATURE_FIELDS))})"
            )
    return payloads


def record_from_payload(payload: dict, keys: TeamKeys) -> dict | Skip:
    """The ingest record for one payload, or why there is none."""
    if payload.get("status") != "success":
        return Skip(f"failed call (status {str(payload.get('status'))[:40]!r})")
    if payload.get("cache_hit") is True:
        return Skip("served from LiteLLM's cache: no gateway call")
    provider = _text(payload.get("custom_llm_provider"))
    api_base = _text(payload.get("api_base")) or _text(_mapping(payload.get("hidden_params")).get("api_base"))
    if not keys.is_tracked(provider=provider, api_base=api_base):
        return Skip(f"provider {provider[:40] or 'unknown'!r} is not a gateway Tally tracks")
    key = _key_for(payload, keys, api_base)
    if isinstance(key, Skip):
        return key
    if not keys.fits(key, provider=provider, api_base=api_base):
        return Skip(f"the key it maps to is on gateway {key.gateway.slug!r}, but the call went elsewhere")
    generation_id = _text(payload.get("id"))
    if not generation_id or generation_id == _text(payload.get("litellm_call_id")):
        return Skip("no gateway generation id (only LiteLLM's own call id)")
    cost = payload.get("response_cost")
    if isinstance(cost, bool) or not isinstance(cost, int | Decimal):
        return Skip("no response_cost")
    created_at = _created_at(payload.get("startTime"))
    if created_at is None:
        return Skip("startTime is not a time")
    usage = _usage(payload)
    record: dict[str, Any] = {
        "gateway": key.gateway.slug,
        "id": generation_id,
        "api_key": key.slug,
        "model": _model_asked_for(payload, provider),
        "created_at": created_at,
        "tokens_prompt": payload.get("prompt_tokens"),
        "tokens_completion": payload.get("completion_tokens"),
        "tokens_cached": _mapping(usage.get("prompt_tokens_details")).get("cached_tokens"),
        "tokens_reasoning": _mapping(usage.get("completion_tokens_details")).get("reasoning_tokens"),
        "cost": cost,
    }
    if usage.get("is_byok") is True:
        record["is_byok"] = True
    if isinstance(payload.get("stream"), bool):
        record["streamed"] = payload["stream"]
    return record


def _key_for(payload: dict, keys: TeamKeys, api_base: str):
    deployment_names = [_text(payload.get("model_id")), _text(payload.get("model_group"))]
    found = keys.first_declared(keys.by_litellm_model, deployment_names, "LiteLLM model")
    if found is None:
        found = keys.first_declared(keys.by_api_base, [normalized_base(api_base)], "api_base")
    return found if found is not None else keys.header_key()


def _usage(payload: dict) -> dict:
    for usage in (
        _mapping(payload.get("metadata")).get("usage_object"),
        _mapping(payload.get("hidden_params")).get("usage_object"),
        _mapping(payload.get("response")).get("usage"),
    ):
        if isinstance(usage, dict) and usage:
            return usage
    return {}


def _model_asked_for(payload: dict, provider: str) -> Any:
    """The gateway's name of the model: what LiteLLM sent, less LiteLLM's provider prefix."""
    model = _text(_mapping(payload.get("hidden_params")).get("litellm_model_name")) or payload.get("model")
    if isinstance(model, str) and provider and model.startswith(f"{provider}/"):
        return model[len(provider) + 1 :]
    return model


def _created_at(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
