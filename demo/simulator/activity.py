"""OpenRouter's account endpoints in the simulator: `GET /api/v1/keys` and `GET /api/v1/activity`.

Both are computed from the simulator's own OpenRouter records, so they agree with what the
lookups answer, records never posted to Tally included. A record counts for the key that made
it (`key`), on the UTC day of its `created_at`; a record with no key is nobody's. A key's hash
is the SHA-256 hex of its secret, its label the secret's first 12 and last 3 characters.

Auth as OpenRouter's: no bearer is 401; a bearer that is not one of the configured
`management_keys` is 403 "Only management keys can perform this operation". Script steps for
these endpoints (429, 500, ... as for lookups) are queued under the ids ACTIVITY_SCRIPT and
KEYS_SCRIPT (`{"scripts": {"/api/v1/activity": ["500", "ok"]}}`).
"""

import hashlib
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demo.simulator.answers import JSON, error_response, scripted_response
from demo.simulator.state import SimulatorState
from lib.exact_json import dumps_exact

ACTIVITY_SCRIPT = "/api/v1/activity"
KEYS_SCRIPT = "/api/v1/keys"
WINDOW_DAYS = 30
FORBIDDEN = "Only management keys can perform this operation"
ZERO = Decimal(0)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_label(secret: str) -> str:
    return f"{secret[:12]}...{secret[-3:]}"


def _json(value: Any, status: int = 200) -> Response:
    return Response(dumps_exact(value), status_code=status, media_type=JSON)


async def _refusal(state: SimulatorState, request: Request, script: str) -> Response | None:
    """The answer that stops the request before any data: auth, then a scripted fault."""
    state.stats.requests["openrouter-account"] += 1
    authorization = request.headers.get("authorization", "")
    secret = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if not secret:
        return error_response("openrouter", 401)
    if secret not in state.config.management_keys:
        return error_response("openrouter", 403, FORBIDDEN)
    step = state.next_scripted_answer(script)
    if step is not None:
        return await scripted_response(step, protocol="openrouter", record=None, hold_seconds=state.config.timeout_hold_seconds)
    return None


def _number(body: dict, name: str) -> Decimal:
    value = body.get(name)
    return value if isinstance(value, Decimal | int) and not isinstance(value, bool) else ZERO


def _billed_records(state: SimulatorState):
    """(secret, UTC day, body) of every OpenRouter record a key made, with a readable body."""
    for (protocol, _), record in state.records.items():
        if protocol == "openrouter" and record.key and isinstance(record.body, dict) and record.body.get("model"):
            yield record.key, record.created_at.astimezone(UTC).date(), record.body


def activity_rows(state: SimulatorState, *, day: date | None, hash_filter: str | None, today: date) -> list[dict]:
    """Activity per (date, model, provider endpoint), as OpenRouter's `/api/v1/activity` rows."""
    first, last = today - timedelta(days=WINDOW_DAYS), today - timedelta(days=1)
    sums: dict[tuple, dict[str, Any]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for secret, record_day, body in _billed_records(state):
        if not first <= record_day <= last or (day is not None and record_day != day):
            continue
        if hash_filter is not None and key_hash(secret) != hash_filter:
            continue
        bucket = sums[(record_day, str(body["model"]), str(body.get("provider_name") or ""))]
        byok = bool(body.get("is_byok"))
        credits = _number(body, "usage") if body.get("usage") is not None else _number(body, "total_cost")
        bucket["usage"] += credits
        bucket["byok_usage_inference"] += _number(body, "upstream_inference_cost") if byok else ZERO
        bucket["requests"] += 1
        bucket["prompt_tokens"] += _number(body, "native_tokens_prompt")
        bucket["completion_tokens"] += _number(body, "native_tokens_completion")
        bucket["reasoning_tokens"] += _number(body, "native_tokens_reasoning")
        bucket["cached_tokens"] += _number(body, "native_tokens_cached")
    rows = []
    for (record_day, model, provider), bucket in sorted(sums.items()):
        rows.append(
            {
                "date": record_day.isoformat(),
                "model": model,
                "model_permaslug": model,
                "endpoint_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{model}@{provider}")),
                "provider_name": provider,
                "usage": bucket["usage"],
                "byok_usage_inference": bucket["byok_usage_inference"],
                "requests": int(bucket["requests"]),
                "prompt_tokens": int(bucket["prompt_tokens"]),
                "completion_tokens": int(bucket["completion_tokens"]),
                "reasoning_tokens": int(bucket["reasoning_tokens"]),
                "cached_tokens": int(bucket["cached_tokens"]),
            }
        )
    return rows


def key_list(state: SimulatorState) -> list[dict]:
    """Every inference key the simulator knows (records' keys and configured keys), by hash."""
    usage: dict[str, Decimal] = defaultdict(lambda: ZERO)
    byok_usage: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for secret, _, body in _billed_records(state):
        usage[secret] += _number(body, "usage") if body.get("usage") is not None else _number(body, "total_cost")
        if body.get("is_byok"):
            byok_usage[secret] += _number(body, "upstream_inference_cost")
    secrets = (state.keys.get("openrouter", set()) | set(state.config.keys)) - set(state.config.management_keys)
    created = "2026-01-01T00:00:00Z"
    keys = [
        {
            "hash": key_hash(secret),
            "name": state.config.key_names.get(secret, f"Key {key_label(secret)}"),
            "label": key_label(secret),
            "disabled": False,
            "limit": None,
            "limit_remaining": None,
            "limit_reset": None,
            "include_byok_in_limit": False,
            "usage": usage[secret],
            "usage_daily": ZERO,
            "usage_weekly": ZERO,
            "usage_monthly": ZERO,
            "byok_usage": byok_usage[secret],
            "byok_usage_daily": ZERO,
            "byok_usage_weekly": ZERO,
            "byok_usage_monthly": ZERO,
            "created_at": created,
            "updated_at": None,
            "last_used_at": None,
            "creator_user_id": None,
            "external_user": None,
            "workspace_id": "00000000-0000-0000-0000-000000000000",
        }
        for secret in secrets
    ]
    return sorted(keys, key=lambda key: key["hash"])


def account_routes(state: SimulatorState, prefix: str = "/openrouter") -> list[Route]:
    """The two endpoints, mounted under the simulator's OpenRouter prefix."""

    def counted(endpoint):
        async def answer(request: Request) -> Response:
            response = await endpoint(request)
            state.stats.statuses[str(response.status_code)] += 1
            state.stats.by_protocol["openrouter-account"][str(response.status_code)] += 1
            return response

        return answer

    async def activity(request: Request) -> Response:
        refused = await _refusal(state, request, ACTIVITY_SCRIPT)
        if refused is not None:
            return refused
        today = datetime.now(UTC).date()
        day = None
        if request.query_params.get("date"):
            try:
                day = date.fromisoformat(request.query_params["date"])
            except ValueError:
                return error_response("openrouter", 400, "date must be YYYY-MM-DD")
            if not today - timedelta(days=WINDOW_DAYS) <= day < today:
                return error_response("openrouter", 400, f"date must be one of the last {WINDOW_DAYS} completed UTC days")
        hash_filter = request.query_params.get("api_key_hash") or None
        return _json({"data": activity_rows(state, day=day, hash_filter=hash_filter, today=today)})

    async def keys(request: Request) -> Response:
        refused = await _refusal(state, request, KEYS_SCRIPT)
        if refused is not None:
            return refused
        try:
            offset = int(request.query_params.get("offset") or 0)
        except ValueError:
            return error_response("openrouter", 400, "offset must be a whole number")
        listed = key_list(state)
        if request.query_params.get("include_disabled") not in ("true", "1"):
            listed = [key for key in listed if not key["disabled"]]
        page_size = state.config.keys_page_size
        return _json({"data": listed[max(offset, 0) : max(offset, 0) + page_size]})

    return [
        Route(f"{prefix}/api/v1/activity", counted(activity), methods=["GET"]),
        Route(f"{prefix}/api/v1/keys", counted(keys), methods=["GET"]),
    ]
