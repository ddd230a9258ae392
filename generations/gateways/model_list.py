"""An OpenRouter-kind gateway's own price list: `GET {base}/api/v1/models` (no key needed).

The answer is `{"data": [{"id": "anthropic/claude-sonnet-4", "pricing": {...}, ...}, ...]}`.
`pricing` holds USD *per token* as decimal strings (`prompt`, `completion`, `input_cache_read`,
`input_cache_write`, and non-token rates such as `request`, `image`, `web_search` that Tally does
not price), an optional fractional `discount` (the price is multiplied by 1 - discount) and
optional `overrides`: conditional prices, such as long-context rates from `min_prompt_tokens`
on, or hours of the day (`utc_start`/`utc_end`). "-1" means the price depends on the route
(`openrouter/auto`): not a price.

Read here into prices per million tokens (Tally's unit), exactly (Decimal, never float), rounded
half-even to the places a stored price keeps. A model whose pricing cannot be a flat list price
(no prompt or completion rate, a route-dependent or negative rate, time-of-day overrides) is
skipped with the reason, never guessed; a long-context override becomes the size below which
the flat price holds. HTTP and parsing only: no ORM.
"""

import asyncio
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from generations.gateways.adapter import endpoint
from generations.gateways.base import BadPayload
from generations.gateways.http import HttpRequest, build_session, load_json_object, raise_for_status, send
from lib.constants import PER_MILLION
from lib.precision import MONEY_INTEGER_DIGITS, stored_amount

MODELS_PATH = "/api/v1/models"
LARGEST_PRICE = Decimal(10) ** MONEY_INTEGER_DIGITS
MODEL_ID_LENGTH = 200
TIMEOUT_SECONDS = 30.0
# Token rates Tally keeps, by OpenRouter's name; every other rate is not a token price.
TOKEN_RATES = {
    "prompt": "prompt",
    "completion": "completion",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
}
LONG_CONTEXT_CONDITION = "min_prompt_tokens"
# Rates a price (or an override) may carry that are neither token rates Tally keeps nor conditions.
NON_TOKEN_RATES = frozenset(
    {
        "request", "image", "image_token", "image_output", "audio", "audio_output", "input_audio_cache",
        "input_cache_write_1h", "web_search", "internal_reasoning", "discount",
    }
)


@dataclass(frozen=True)
class ListedPrice:
    """One model's flat list price from a gateway's list, USD per million tokens."""

    model: str
    prompt: Decimal
    completion: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    # The prompt size from which the gateway charges other rates; None: the price always holds.
    applies_below_prompt_tokens: int | None = None


@dataclass(frozen=True)
class SkippedModel:
    model: str
    reason: str


@dataclass(frozen=True)
class PriceList:
    prices: list[ListedPrice]
    skipped: list[SkippedModel]


def parse_model_list(body: str) -> PriceList:
    """Read a models-list answer body (BadPayload if it is not one)."""
    envelope = load_json_object(body)
    entries = envelope.get("data")
    if not isinstance(entries, list):
        raise BadPayload("the model list has no `data` array")
    prices: list[ListedPrice] = []
    skipped: list[SkippedModel] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        model = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(model, str) or not model.strip() or len(model) > MODEL_ID_LENGTH:
            skipped.append(SkippedModel(f"entry {index}", "no usable model id"))
            continue
        if model in seen:
            skipped.append(SkippedModel(model, "listed twice; the first entry is kept"))
            continue
        seen.add(model)
        try:
            prices.append(_listed_price(model, entry.get("pricing")))
        except ValueError as reason:
            skipped.append(SkippedModel(model, str(reason)))
    return PriceList(prices=prices, skipped=skipped)


def fetch_model_list(*, base_url: str, timeout_seconds: float = TIMEOUT_SECONDS) -> PriceList:
    """Read a gateway's model list now (GatewayError subclasses on failure, as for lookups)."""
    return asyncio.run(_fetch(base_url=base_url, timeout_seconds=timeout_seconds))


async def _fetch(*, base_url: str, timeout_seconds: float) -> PriceList:
    async with build_session(timeout_seconds=timeout_seconds, concurrency=1) as session:
        answer = await send(session, HttpRequest("GET", endpoint(base_url, MODELS_PATH)))
    raise_for_status(answer)
    return parse_model_list(answer.body)


def _listed_price(model: str, pricing: Any) -> ListedPrice:
    if not isinstance(pricing, dict):
        raise ValueError("no pricing")
    discount = _discount(pricing.get("discount"))
    rates = {}
    for name, field in TOKEN_RATES.items():
        value = pricing.get(name)
        if value is None:
            if field in ("prompt", "completion"):
                raise ValueError(f"no {name} price")
            continue
        rates[field] = _per_million(value, name=name, discount=discount)
    return ListedPrice(model=model, **rates, applies_below_prompt_tokens=_long_context_start(pricing.get("overrides")))


def _per_million(value: Any, *, name: str, discount: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError(f"{name} is not a price: {str(value)[:40]!r}")
    try:
        per_token = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name} is not a price: {str(value)[:40]!r}") from None
    if not per_token.is_finite() or per_token < 0:
        raise ValueError(f"{name} {str(value)[:40]} is not a fixed price (it depends on the route)")
    per_million = per_token * PER_MILLION * (1 - discount)
    if per_million >= LARGEST_PRICE:
        raise ValueError(f"{name} {str(value)[:40]} is too large")
    return stored_amount(per_million)


def _discount(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        discount = Decimal(value) if not isinstance(value, bool) else None
    except (InvalidOperation, TypeError):
        discount = None
    if discount is None or not discount.is_finite() or not 0 <= discount <= 1:
        raise ValueError(f"discount {str(value)[:40]!r} is not a fraction between 0 and 1")
    return discount


def _long_context_start(overrides: Any) -> int | None:
    """The smallest prompt size from which an override applies, if every override is a
    long-context one; other conditions (hours of the day) make the flat price wrong at times."""
    if not overrides:
        return None
    if not isinstance(overrides, list):
        raise ValueError("overrides is not a list")
    starts = []
    for override in overrides:
        conditions = set(override) - set(TOKEN_RATES) - NON_TOKEN_RATES if isinstance(override, dict) else None
        start = override.get(LONG_CONTEXT_CONDITION) if conditions == {LONG_CONTEXT_CONDITION} else None
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError("conditional prices other than long-context ones (e.g. by hour of day)")
        starts.append(start)
    return min(starts)
