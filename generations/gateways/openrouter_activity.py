"""OpenRouter's account endpoints for coverage checks: `GET /api/v1/keys` and `GET /api/v1/activity`.

Both need a management (provisioning) key; with an inference key OpenRouter answers 403 "Only
management keys can perform this operation", which arrives here as Unauthorised like a 401.

- `/api/v1/keys` lists the account's keys, `{"data": [{hash, name, label, disabled, limit,
  usage, ...}]}`, a page at a time: `offset` skips that many keys; an empty page ends the list.
  `include_disabled=true` lists disabled keys too (they may have spent on the day checked).
- `/api/v1/activity` answers `{"data": [...]}`, one row per UTC date, model and provider
  endpoint, for the last 30 completed UTC days: date, model, model_permaslug, endpoint_id,
  provider_name, usage (USD of OpenRouter credits), byok_usage_inference (USD billed to the
  team's own provider account), requests, prompt_tokens, completion_tokens, reasoning_tokens
  (and, in newer answers, cached_tokens). `date` picks one day; `api_key_hash` one key.

Like every adapter: HTTP and parsing only, exact Decimals, typed errors (generations.gateways.base).
"""

import asyncio
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from generations.gateways.adapter import endpoint
from generations.gateways.base import BadPayload
from generations.gateways.fields import read_bool, read_count, read_decimal, read_string
from generations.gateways.http import HttpRequest, bearer_headers, build_session, load_json_object, raise_for_status, send

# A list of keys longer than this many pages is not an answer we trust (a gateway looping offsets).
MAX_KEY_PAGES = 1000
TIMEOUT_SECONDS = 30.0
# Larger than any day's spend can be, and than Tally's money columns hold (24 digits, 12 places).
MAX_AMOUNT = Decimal(10) ** 12


@dataclass(frozen=True)
class GatewayKey:
    """One key as OpenRouter lists it. `label` shows the first and last characters of the secret."""

    hash: str
    label: str
    name: str
    disabled: bool


@dataclass(frozen=True)
class ActivityRow:
    """What OpenRouter billed one key (or the account) on one UTC day, model and provider endpoint."""

    day: date
    model: str
    model_permaslug: str
    endpoint_id: str
    provider_name: str
    usage: Decimal
    byok_usage_inference: Decimal
    requests: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int | None = None

    @property
    def cost(self) -> Decimal:
        """What the row's calls cost in all: OpenRouter credits plus, for BYOK, the upstream cost."""
        return self.usage + self.byok_usage_inference


def _rows(body: str) -> list[dict]:
    data = load_json_object(body).get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise BadPayload("'data' should be a list of objects")
    return data


def parse_keys_page(body: str) -> list[GatewayKey]:
    """One page of `/api/v1/keys` (BadPayload if unreadable)."""
    keys = []
    for item in _rows(body):
        key_hash = read_string(item, "hash", required=True)
        keys.append(
            GatewayKey(
                hash=key_hash,
                label=read_string(item, "label"),
                name=read_string(item, "name"),
                disabled=bool(read_bool(item, "disabled")),
            )
        )
    return keys


def parse_activity(body: str) -> list[ActivityRow]:
    """A `/api/v1/activity` answer (BadPayload if unreadable; unknown fields are ignored)."""
    rows = []
    for item in _rows(body):
        day_text = read_string(item, "date", required=True)
        try:
            day = date.fromisoformat(day_text[:10])
        except ValueError as error:
            raise BadPayload(f"'date' should be YYYY-MM-DD, got {day_text[:40]!r}") from error
        usage = read_decimal(item, "usage", required=True)
        byok = read_decimal(item, "byok_usage_inference") or Decimal(0)
        if not (0 <= usage < MAX_AMOUNT and 0 <= byok < MAX_AMOUNT):
            raise BadPayload(f"'usage' and 'byok_usage_inference' should be between 0 and {MAX_AMOUNT} USD")
        rows.append(
            ActivityRow(
                day=day,
                model=read_string(item, "model", required=True),
                model_permaslug=read_string(item, "model_permaslug"),
                endpoint_id=read_string(item, "endpoint_id"),
                provider_name=read_string(item, "provider_name"),
                usage=usage,
                byok_usage_inference=byok,
                requests=read_count(item, "requests", required=True),
                prompt_tokens=read_count(item, "prompt_tokens") or 0,
                completion_tokens=read_count(item, "completion_tokens") or 0,
                reasoning_tokens=read_count(item, "reasoning_tokens") or 0,
                cached_tokens=read_count(item, "cached_tokens"),
            )
        )
    return rows


async def _get(session, url: str, *, secret: str, params: dict) -> str:
    answer = await send(session, HttpRequest("GET", url, params=params, headers=bearer_headers(secret)))
    raise_for_status(answer)
    return answer.body


async def _fetch_keys(base_url: str, secret: str) -> list[GatewayKey]:
    keys: list[GatewayKey] = []
    async with build_session(timeout_seconds=TIMEOUT_SECONDS, concurrency=1) as session:
        for _ in range(MAX_KEY_PAGES):
            params = {"include_disabled": "true", "offset": str(len(keys))}
            page = parse_keys_page(await _get(session, endpoint(base_url, "/api/v1/keys"), secret=secret, params=params))
            if not page:
                return keys
            keys.extend(page)
    raise BadPayload(f"the key list did not end after {MAX_KEY_PAGES} pages")


async def _fetch_activity(base_url: str, secret: str, day: date, key_hashes: list[str | None]) -> list[list[ActivityRow]]:
    async with build_session(timeout_seconds=TIMEOUT_SECONDS, concurrency=1) as session:
        results = []
        for key_hash in key_hashes:
            params = {"date": day.isoformat()}
            if key_hash is not None:
                params["api_key_hash"] = key_hash
            rows = parse_activity(await _get(session, endpoint(base_url, "/api/v1/activity"), secret=secret, params=params))
            strays = [row for row in rows if row.day != day]
            if strays:
                raise BadPayload(f"asked for {day}, the gateway answered about {strays[0].day}")
            results.append(rows)
        return results


def fetch_keys(*, base_url: str, secret: str) -> list[GatewayKey]:
    """Every key of the account, disabled ones too, following `offset` pages."""
    return asyncio.run(_fetch_keys(base_url, secret))


def fetch_activity(*, base_url: str, secret: str, day: date, key_hashes: list[str | None]) -> list[list[ActivityRow]]:
    """The day's activity rows for each key hash in turn (None: the whole account), in order.
    Any error (GatewayError subclass) aborts the whole fetch: a check is all or nothing."""
    return asyncio.run(_fetch_activity(base_url, secret, day, key_hashes))
