"""One demo generation at a time: the models the demo calls, a random call, and the two sides of
it (our Generation row and what the gateway simulator will answer), with its planted difference.
"""

import random
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import ApiKey, Gateway
from accounts.secrets import fingerprint
from billing.reconciliation.charges import is_anthropic_model
from demo.simulator.records import sample_body
from generations.models import Generation, GenerationState
from lib.constants import PER_MILLION
from lib.precision import stored_amount as money

BYOK_FEE_RATE = Decimal("0.05")
PLANTED_SHARE = 0.075


@dataclass(frozen=True)
class DemoModel:
    slug: str
    provider: str
    prompt: Decimal  # USD per million tokens
    completion: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: bool = False
    weight: int = 1
    # The demo's gateways charge these rates. For most models they are the genai-prices
    # catalog's, so the demo needs no price of its own; an `imported` model's rates differ from
    # the catalog's (a provider's own price), and the demo imports them to show an override.
    imported: bool = False


MODELS = (
    DemoModel("openai/gpt-4o-mini", "OpenAI", Decimal("0.15"), Decimal("0.60"), Decimal("0.075"), weight=6),
    DemoModel("openai/gpt-4o", "OpenAI", Decimal("2.50"), Decimal("10.00"), Decimal("1.25"), weight=3),
    DemoModel(
        "anthropic/claude-3.5-sonnet", "Anthropic", Decimal("3"), Decimal("15"), Decimal("0.30"), Decimal("3.75"),
        weight=3,
    ),
    DemoModel(
        "anthropic/claude-3.5-haiku", "Anthropic", Decimal("0.80"), Decimal("4"), Decimal("0.08"), Decimal("1"),
        weight=3,
    ),
    DemoModel("google/gemini-2.0-flash-001", "Google", Decimal("0.10"), Decimal("0.40"), Decimal("0.025"), weight=4),
    DemoModel(
        "meta-llama/llama-3.1-70b-instruct", "DeepInfra", Decimal("0.23"), Decimal("0.40"), weight=2, imported=True
    ),
    DemoModel(
        "deepseek/deepseek-r1", "DeepSeek", Decimal("0.55"), Decimal("2.19"), Decimal("0.14"), reasoning=True,
        imported=True,
    ),
)
SUBSTITUTES = {"openai/gpt-4o": "openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet": "anthropic/claude-3.5-haiku"}
DATED = {"openai/gpt-4o": "openai/gpt-4o-2024-08-06", "openai/gpt-4o-mini": "openai/gpt-4o-mini-2024-07-18"}


PLANTS_BY_KIND = {
    "openrouter": (
        "cost_mismatch", "token_mismatch", "upstream_inconsistent", "model_substituted",
        "harmless_dated_slug", "cancelled_billed", "missing_upstream", "harmless_negative_cache_discount",
    ),
    "openrouter_byok": ("byok_mismatch", "byok_fee_unexpected", "cost_mismatch", "missing_upstream"),
    "fastrouter": ("cost_mismatch", "token_mismatch", "key_mismatch", "model_substituted", "missing_upstream"),
    "kushrouter": ("token_mismatch", "cost_mismatch", "model_substituted", "missing_upstream"),
}


@dataclass(frozen=True)
class DemoKey:
    api_key: ApiKey
    secret: str
    gateway: Gateway


@dataclass
class Call:
    """One demo generation: what the team recorded and what the gateway will say."""

    key: DemoKey
    external_id: str
    model: DemoModel
    created_at: datetime
    prompt: int
    completion: int
    cached: int
    cache_write: int
    reasoning: int

    @property
    def kind(self) -> str:
        return self.key.gateway.kind


def random_call(keys: list[DemoKey], created_at: datetime, index: int, rng: random.Random) -> Call:
    key = rng.choice(keys)
    model = rng.choices(MODELS, weights=[model.weight for model in MODELS])[0]
    prompt = int(rng.lognormvariate(7, 1.0)) + 20
    completion = int(rng.lognormvariate(5.5, 0.9)) + 5
    reasoning = int(completion * rng.uniform(0.3, 0.7)) if model.reasoning else 0
    kind = key.gateway.kind
    cached = int(prompt * rng.choice((0, 0, 0.3, 0.6))) if model.cache_read is not None and kind != "fastrouter" else 0
    cache_write = rng.choice((0, 0, 0, 256, 1024)) if kind == "kushrouter" and model.cache_write else 0
    prefix = {"openrouter": "gen-", "fastrouter": "fr-", "kushrouter": "chatcmpl-"}[kind]
    external_id = f"{prefix}{int(created_at.timestamp())}-{key.gateway.slug[:3]}{index:05d}"
    return Call(key, external_id, model, created_at, prompt, completion, cached, cache_write, reasoning)


def _list_cost(call: Call) -> Decimal:
    """What the provider charges at list price for the tokens the gateway counts."""
    model = call.model
    if call.kind == "kushrouter":  # cache reads and writes priced on their own (charges.kushrouter_cost)
        # Claude's prompt tokens are the uncached ones; other models' include the cache reads.
        uncached = call.prompt if is_anthropic_model(model.slug) else call.prompt - call.cached
        total = (
            uncached * model.prompt
            + call.completion * model.completion
            + call.cached * (model.cache_read or model.prompt)
            + call.cache_write * (model.cache_write or model.prompt)
        )
    else:  # prompt tokens include the cached ones, which the cache discount takes back
        total = call.prompt * model.prompt + call.completion * model.completion
    return total / PER_MILLION


def _cache_discount(call: Call) -> Decimal:
    if call.kind != "openrouter" or not call.cached or call.model.cache_read is None:
        return Decimal(0)
    return money(call.cached * (call.model.prompt - call.model.cache_read) / PER_MILLION)


def planted_call(call: Call, planted: str, keys: list[DemoKey], rng: random.Random) -> tuple[Generation, dict]:
    """Our Generation row and the simulator's record for one call, with its planted difference."""
    byok_key = call.key.api_key.is_byok
    discount = call.key.gateway.discount
    cache_discount = _cache_discount(call)
    if planted == "harmless_negative_cache_discount":
        cache_discount = -money(Decimal(1024) * call.model.prompt * Decimal("0.25") / PER_MILLION)
    provider_cost = money((_list_cost(call) - cache_discount) * (1 - discount))
    body_fields: dict[str, Any] = {
        "tokens_prompt": call.prompt,
        "tokens_completion": call.completion,
        "tokens_cached": call.cached,
        "tokens_cache_write": call.cache_write,
        "tokens_reasoning": call.reasoning,
        "cost": provider_cost,
        "cache_discount": cache_discount if call.kind == "openrouter" and (call.cached or cache_discount) else None,
        "key_hash": call.key.api_key.fingerprint[:24],
    }
    recorded_cost = provider_cost
    served_model = call.model.slug
    cancelled = False
    if call.kind == "openrouter":
        body_fields["upstream_inference_cost"] = provider_cost
    if byok_key:
        fee = money(provider_cost * BYOK_FEE_RATE)
        recorded_cost = provider_cost + fee
        body_fields.update(cost=fee, is_byok=True)
        if planted == "byok_mismatch":  # fell back to shared capacity: charged in full
            body_fields.update(cost=provider_cost, is_byok=False)
        elif planted == "byok_fee_unexpected":
            body_fields.update(cost=money(provider_cost * Decimal("0.12")))

    recorded_prompt = call.prompt
    if planted == "cost_mismatch":
        recorded_cost = money(recorded_cost * Decimal(rng.choice(("0.8", "0.9", "1.15"))))
    elif planted == "token_mismatch":
        recorded_prompt = call.prompt + rng.choice((-1, 1)) * max(10, call.prompt // 10)
    elif planted == "upstream_inconsistent":
        body_fields["usage"] = money(body_fields["cost"] * Decimal("1.1"))
    elif planted == "model_substituted":
        served_model = SUBSTITUTES[call.model.slug]
    elif planted == "harmless_dated_slug":
        served_model = DATED[call.model.slug]
    elif planted == "cancelled_billed":
        cancelled = True
    elif planted == "key_mismatch":
        others = [key for key in keys if key.gateway == call.key.gateway and key is not call.key]
        body_fields["key_hash"] = fingerprint(rng.choice(others).secret)[:24]

    body = sample_body(
        call.kind,
        generation_id=call.external_id,
        model=served_model,
        provider=call.model.provider,
        created_at=call.created_at,
        cancelled=cancelled,
        **body_fields,
    )
    spec: dict[str, Any] = {
        "protocol": call.kind,
        "id": call.external_id,
        "key": call.key.secret,
        "created_at": call.created_at.astimezone(dt_timezone.utc).isoformat(),
        "body": body,
    }
    if planted:
        spec["planted"] = planted
    if planted == "missing_upstream":
        spec["absent"] = True
    generation = Generation(
        gateway=call.key.gateway,
        external_id=call.external_id,
        api_key=call.key.api_key,
        team_id=call.key.api_key.team_id,
        model=call.model.slug,
        created_at=call.created_at,
        tokens_prompt=recorded_prompt,
        tokens_completion=call.completion,
        tokens_cached=call.cached,
        tokens_reasoning=call.reasoning,
        cost=money(recorded_cost),
        is_byok=byok_key,
        cancelled=cancelled,
        streamed=True,
        state=GenerationState.PENDING,
        next_attempt_at=timezone.now(),
    )
    return generation, spec
