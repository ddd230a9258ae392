"""Generations whose gateway answers are normal in production and must not be disputed by
mistake, with their simulator records (for the end-to-end reconciliation test):

- a late record: 404 for its first lookups, then present;
- an unreadable record: an answer that never parses (an unreadable_record finding, raw body kept);
- a zero-cost OpenRouter BYOK call (a free provider: upstream cost 0, fee 0);
- an OpenRouter response-cache hit (every billable counter 0, the source generation named);
- FastRouter generations whose `api_key` hash is not the SHA-256 of the key's secret.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from billing.reconciliation.charges import list_cost, money
from demo.simulator.records import sample_body
from tests.billing.reconciliation_world import PRICES, Planned, World

# FastRouter's own hash of a key: not SHA-256 of the secret (its algorithm is undocumented).
FASTROUTER_KEY_HASH = "frk_7c1e0b9d4a2f"
MODEL = "openai/gpt-x"


def plan_real_answers(world: World, *, now: datetime) -> list[Planned]:
    created_at = now - timedelta(seconds=5)
    planned = [
        _openrouter(world, "real-late", created_at=created_at, script=["404", "404", "ok"]),
        _unreadable(world, "real-unreadable", created_at=created_at),
        _openrouter(world, "real-byok-free", created_at=created_at, byok=True, zero_cost=True),
        _openrouter(world, "real-cache-hit", created_at=created_at, cache_source="real-late",
                    expected_kinds={"cache_hit"}),
    ]
    planned += [_fastrouter(world, f"real-fr-{index}", created_at=created_at) for index in range(3)]
    return planned


def _openrouter(
    world: World,
    external_id: str,
    *,
    created_at: datetime,
    script: list[str] | None = None,
    byok: bool = False,
    zero_cost: bool = False,
    cache_source: str | None = None,
    expected_kinds: set[str] | None = None,
) -> Planned:
    key_name = "openrouter-byok" if byok else "openrouter"
    prompt, completion = 900, 120
    cost = Decimal(0) if zero_cost or cache_source else money(list_cost(price=PRICES[MODEL], prompt=prompt,
                                                                       completion=completion))
    body = sample_body(
        "openrouter",
        generation_id=external_id,
        model=MODEL,
        provider="OpenAI",
        created_at=created_at,
        tokens_prompt=prompt,
        tokens_completion=completion,
        cost=cost,
        is_byok=byok,
        upstream_inference_cost=Decimal(0) if byok else None,
        fallback_from="Azure" if script else None,
        response_cache_source_id=cache_source,
    )
    spec = {"protocol": "openrouter", "id": external_id, "key": world.secrets[key_name],
            "created_at": created_at.isoformat(), "body": body}
    if script:
        spec["script"] = script
    return Planned(
        key_name=key_name, external_id=external_id, model=MODEL, created_at=created_at, tokens_prompt=prompt,
        tokens_completion=completion, tokens_cached=0, cost=cost, spec=spec,
        expected_kinds=expected_kinds or set(), expected_state="verified",
    )  # fmt: skip


def _unreadable(world: World, external_id: str, *, created_at: datetime) -> Planned:
    spec = {"protocol": "openrouter", "id": external_id, "key": world.secrets["openrouter"],
            "created_at": created_at.isoformat(), "raw_body": '{"data": {"id": "' + external_id + '", "total_cost": '}
    return Planned(
        key_name="openrouter", external_id=external_id, model=MODEL, created_at=created_at, tokens_prompt=10,
        tokens_completion=10, tokens_cached=0, cost=Decimal("0.000125"), spec=spec,
        expected_kinds={"unreadable_record"}, expected_state="disputed",
    )  # fmt: skip


def _fastrouter(world: World, external_id: str, *, created_at: datetime) -> Planned:
    prompt, completion = 300, 80
    cost = money(list_cost(price=PRICES[MODEL], prompt=prompt, completion=completion))
    body = sample_body(
        "fastrouter", generation_id=external_id, model=MODEL, provider="OpenAI", created_at=created_at,
        tokens_prompt=prompt, tokens_completion=completion, cost=cost, key_hash=FASTROUTER_KEY_HASH,
    )  # fmt: skip
    spec = {"protocol": "fastrouter", "id": external_id, "key": world.secrets["fastrouter"],
            "created_at": created_at.isoformat(), "body": body}
    return Planned(
        key_name="fastrouter", external_id=external_id, model=MODEL, created_at=created_at, tokens_prompt=prompt,
        tokens_completion=completion, tokens_cached=0, cost=cost, spec=spec, expected_kinds=set(),
        expected_state="verified",
    )  # fmt: skip
