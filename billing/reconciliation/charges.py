"""What each gateway charged for a generation, read the way that gateway means it.

- OpenRouter, not BYOK: `total_cost`. `upstream_inference_cost` is a breakdown of it (what the
  provider was paid), never added on top.
- OpenRouter, BYOK: `total_cost` is OpenRouter's fee (taken from credits) and
  `upstream_inference_cost` is billed to the team's own provider account: the call cost both.
- FastRouter: `credits_used`, in USD.
- KushRouter reports tokens and no cost: list price x tokens, cache reads and cache writes at
  their own prices, less the gateway's discount.

Whether the call was BYOK is what the gateway says happened (`is_byok` on its record): a BYOK key
that fell back to shared capacity was charged in full, as a non-BYOK call.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from generations.gateways.base import GatewayGenerationRecord
from lib.constants import PER_MILLION
from lib.precision import stored_amount as money

if TYPE_CHECKING:  # facts.py computes a case's charge here: import its types only for checking
    from billing.reconciliation.facts import ListPrice

ZERO = Decimal(0)


def list_cost(
    *, price: ListPrice, prompt: int, completion: int, cache_read: int = 0, cache_write: int = 0
) -> Decimal:
    """List cost of a call: `prompt` counts uncached input tokens only; cache reads and writes
    are priced at their own rates (at the prompt rate when the price list has none).
    Reasoning tokens are part of `completion`: they are billed as output."""
    cache_read_rate = price.cache_read if price.cache_read is not None else price.prompt
    cache_write_rate = price.cache_write if price.cache_write is not None else price.prompt
    total = (
        prompt * price.prompt
        + completion * price.completion
        + cache_read * cache_read_rate
        + cache_write * cache_write_rate
    )
    return total / PER_MILLION


def kushrouter_cost(*, record: GatewayGenerationRecord, price: ListPrice, discount: Decimal) -> Decimal:
    """KushRouter's charge: its usage tokens at list price, less the gateway's discount.

    KushRouter does not document which convention its `usage` follows, so the provider's is
    assumed. Anthropic models: `prompt_tokens` are the uncached input tokens, and
    `cache_read_input_tokens` / `cache_creation_input_tokens` come on top of them. Every other
    model (OpenAI's among them): `prompt_tokens` already include the cached tokens, so the cache
    reads are taken out of it before pricing, never counted twice.
    (genai-prices counts cache reads and writes inside the input tokens instead;
    billing/catalog.py maps one onto the other.)
    """
    prompt = record.tokens_prompt or 0
    if not is_anthropic_model(record.served_model):
        prompt = max(prompt - (record.tokens_cached or 0), 0)
    cost = list_cost(
        price=price,
        prompt=prompt,
        completion=record.tokens_completion or 0,
        cache_read=record.tokens_cached or 0,
        cache_write=record.tokens_cache_write or 0,
    )
    return money(cost * (1 - discount))


def is_anthropic_model(model: str) -> bool:
    """Claude models (KushRouter names them without a provider prefix: `claude-sonnet-4-...`)."""
    slug = model.strip().lower()
    return slug.startswith(("anthropic/", "claude"))


def total_input_tokens(*, kind: str, record: GatewayGenerationRecord) -> int:
    """All the input tokens of a call, cache reads and writes included: what a tiered (long
    context) list price counts. OpenRouter's and FastRouter's prompt counts already include the
    cached tokens, and so do KushRouter's for every model but Anthropic's (see kushrouter_cost)."""
    prompt = record.tokens_prompt or 0
    if kind == "kushrouter":
        if is_anthropic_model(record.served_model):
            return prompt + (record.tokens_cached or 0) + (record.tokens_cache_write or 0)
        return prompt + (record.tokens_cache_write or 0)
    return prompt


def gateway_charge(
    *, kind: str, record: GatewayGenerationRecord, price: ListPrice | None, discount: Decimal
) -> Decimal | None:
    """What the gateway charged for this generation, or None when it cannot be known (a cost
    field missing from the record, or no list price in force for a KushRouter model)."""
    if kind == "openrouter":
        if record.total_cost is None:
            return None
        if record.is_byok:
            return money(record.total_cost + (record.upstream_inference_cost or ZERO))
        return money(record.total_cost)
    if kind == "fastrouter":
        return None if record.credits_used is None else money(record.credits_used)
    if kind == "kushrouter":
        return None if price is None else kushrouter_cost(record=record, price=price, discount=discount)
    raise ValueError(f"Unknown gateway kind: {kind!r}")
