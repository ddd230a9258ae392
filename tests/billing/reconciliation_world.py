"""Test data for reconciliation: gateways, keys, prices, and generations with the gateway's side
of each as a simulator record spec, optionally with a planted difference.

Each `Planned` generation knows the finding kinds reconciliation must report for it (none for
a clean one, or for differences that are not discrepancies: a dated slug, a negative cache
discount), and the state it must end in.
"""

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from billing.models import ModelPrice
from billing.reconciliation.charges import list_cost, money
from billing.reconciliation.facts import ListPrice
from billing.reconciliation.services import decisions_apply, generation_decide
from generations.models import DailySpend, Generation
from generations.rollups import rollup_generations_added
from generations.scheduling import MISSING_MIN_LOOKUPS

PRICES = {
    "openai/gpt-x": ListPrice(model="openai/gpt-x", prompt=Decimal("2.5"), completion=Decimal("10")),
    "openai/gpt-y": ListPrice(model="openai/gpt-y", prompt=Decimal("2.5"), completion=Decimal("10")),
    "claude-sonnet": ListPrice(
        model="claude-sonnet",
        prompt=Decimal("3"),
        completion=Decimal("15"),
        cache_read=Decimal("0.3"),
        cache_write=Decimal("3.75"),
    ),
}
KUSHROUTER_DISCOUNT = Decimal("0.30")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class World:
    team: Team
    gateways: dict[str, Gateway]
    keys: dict[str, ApiKey]  # "openrouter", "openrouter-byok", "fastrouter", "kushrouter"
    secrets: dict[str, str] = field(default_factory=dict)


def world_create(
    *, simulator_url: str, grace_seconds: int = 600, concurrency: int = 16, tag: str = "w", fastrouter_hash_known: bool = True
) -> World:
    """A team with a key on each gateway. `fastrouter_hash_known`: the FastRouter key's reported
    hash is already learned (else it is learned from its first generation)."""
    team = Team.objects.create(name=f"Team {tag}", slug=f"team-{tag}")
    gateways, keys, secrets = {}, {}, {}
    for kind in ("openrouter", "fastrouter", "kushrouter"):
        gateways[kind] = Gateway.objects.create(
            slug=f"{kind}-{tag}",
            name=kind,
            kind=kind,
            base_url=f"{simulator_url}/{kind}",
            grace_seconds=grace_seconds,
            concurrency=concurrency,
            retention_days=7 if kind == "kushrouter" else None,
            discount=KUSHROUTER_DISCOUNT if kind == "kushrouter" else Decimal(0),
        )
        for model, price in PRICES.items():
            ModelPrice.objects.create(
                gateway=gateways[kind],
                model=model,
                prompt=price.prompt,
                completion=price.completion,
                cache_read=price.cache_read,
                cache_write=price.cache_write,
                valid_from=date(2020, 1, 1),
            )
    for name, kind, byok in (
        ("openrouter", "openrouter", False),
        ("openrouter-byok", "openrouter", True),
        ("fastrouter", "fastrouter", False),
        ("kushrouter", "kushrouter", False),
    ):
        secret = f"sk-{tag}-{name}-{random.getrandbits(64):016x}"
        key = ApiKey(team=team, gateway=gateways[kind], slug=f"{tag}-{name}", name=name, is_byok=byok)
        key.set_secret(secret)
        if kind == "fastrouter" and fastrouter_hash_known:
            # The hash FastRouter reports for this key, already learned: a planted key_mismatch
            # reports another one.
            key.gateway_key_hash = sha256(secret)
        key.save()
        keys[name], secrets[name] = key, secret
    return World(team=team, gateways=gateways, keys=keys, secrets=secrets)


@dataclass
class Planned:
    key_name: str
    external_id: str
    model: str
    created_at: datetime
    tokens_prompt: int
    tokens_completion: int
    tokens_cached: int
    cost: Decimal
    spec: dict | None  # the simulator's record; None when the gateway has no record of it
    expected_kinds: set[str]
    expected_state: str
    planted: str = ""

    @property
    def kind(self) -> str:
        return self.key_name.split("-")[0]


OPENROUTER_PLANTS = (
    "cost_mismatch",
    "token_mismatch",
    "upstream_inconsistent",
    "model_substituted",
    "dated_slug",
    "cancelled_billed",
    "negative_cache_discount",
    "missing_upstream",
)
BYOK_PLANTS = ("byok_mismatch", "byok_fee_unexpected")
FASTROUTER_PLANTS = ("cost_mismatch", "token_mismatch", "key_mismatch", "missing_upstream")
KUSHROUTER_PLANTS = ("cost_mismatch", "token_mismatch", "dated_slug", "missing_upstream", "expired_unverified")
# What each plant must be reported as (the generation's findings, exactly).
EXPECTED_KINDS = {
    "byok_mismatch": {"byok_mismatch", "cost_mismatch"},  # charged in full, not fee + upstream
    "dated_slug": set(),
    "negative_cache_discount": set(),
}
NOT_DISPUTED = {"": "verified", "dated_slug": "verified", "negative_cache_discount": "verified", "cancelled_billed": "verified"}
NOT_DISPUTED["model_substituted"] = "verified"  # same price: a warning
FINAL_STATES = {"missing_upstream": "missing", "expired_unverified": "expired"}


def plan_generations(world: World, *, count: int, plant_share: float, seed: int, now: datetime, scripts: bool = True) -> list[Planned]:
    """`count` generations spread over the keys; about `plant_share` of them with a planted
    difference (each kind at least once when plant_share > 0), and, with `scripts`, some answering 404 then the
    record, 429 or 500 first."""
    rng = random.Random(seed)
    plants = (
        [("openrouter", plant) for plant in OPENROUTER_PLANTS]
        + [("openrouter-byok", plant) for plant in BYOK_PLANTS]
        + [("fastrouter", plant) for plant in FASTROUTER_PLANTS]
        + [("kushrouter", plant) for plant in KUSHROUTER_PLANTS]
    )
    planned = []
    for index in range(count):
        if plant_share and index < len(plants):
            key_name, plant = plants[index]
        else:
            key_name = rng.choice(list(world.keys))
            candidates = {
                "openrouter": OPENROUTER_PLANTS,
                "openrouter-byok": BYOK_PLANTS,
                "fastrouter": FASTROUTER_PLANTS,
                "kushrouter": KUSHROUTER_PLANTS,
            }[key_name]
            plant = rng.choice(candidates) if rng.random() < plant_share else ""
        planned.append(_plan_one(world, key_name=key_name, plant=plant, index=index, rng=rng, now=now, scripts=scripts))
    return planned


def _plan_one(world: World, *, key_name: str, plant: str, index: int, rng: random.Random, now: datetime, scripts: bool) -> Planned:
    kind = key_name.split("-")[0]
    model = "claude-sonnet" if kind == "kushrouter" else "openai/gpt-x"
    price = PRICES[model]
    prompt, completion = rng.randint(10, 5000), rng.randint(1, 2000)
    cached = rng.randint(0, prompt) if kind == "kushrouter" else 0
    cache_write = rng.randint(0, 3000) if kind == "kushrouter" else 0
    created_at = now - timedelta(seconds=rng.randint(0, 30))
    if plant == "missing_upstream":
        created_at = now - timedelta(hours=2)  # past the grace window: a 404 is final
    if plant == "expired_unverified":
        created_at = now - timedelta(days=8)  # past KushRouter's 7-day retention
    external_id = f"{kind[:2]}-{world.team.slug}-{index:05d}"
    secret = world.secrets[key_name]
    recorded_tokens = (prompt, completion, cached)
    served_model = model
    script: list[str] = []

    if kind == "openrouter":
        at_list = money(list_cost(price=price, prompt=prompt, completion=completion))
        cache_discount = None
        total = at_list
        if plant == "negative_cache_discount":
            cache_discount = -money(at_list * Decimal("0.2"))
            total = at_list - cache_discount
        byok = key_name == "openrouter-byok"
        body = {
            "id": external_id,
            "created_at": created_at.isoformat(),
            "model": model,
            "origin": "https://example.test/",
            "total_cost": total,
            "usage": total,
            "upstream_inference_cost": total,
            "cache_discount": cache_discount,
            "is_byok": False,
            "native_tokens_prompt": prompt,
            "native_tokens_completion": completion,
            "native_tokens_cached": 0,
            "native_tokens_reasoning": 0,
            "cancelled": False,
            "provider_name": "Example",
            "streamed": True,
        }
        cost = total
        if byok:
            fee = money(at_list * Decimal("0.05"))
            body.update(is_byok=True, total_cost=fee, usage=fee, upstream_inference_cost=at_list)
            cost = at_list + fee
            if plant == "byok_mismatch":  # fell back to shared capacity: full price from credits
                body.update(is_byok=False, total_cost=at_list, usage=at_list, upstream_inference_cost=at_list)
            if plant == "byok_fee_unexpected":
                fee = money(at_list * Decimal("0.10"))
                body.update(total_cost=fee, usage=fee)
                cost = at_list + fee
        if plant == "upstream_inconsistent":
            body["usage"] = money(total * Decimal("1.5")) + Decimal("0.001")
        if plant == "model_substituted":
            served_model = "openai/gpt-y"
        if plant == "dated_slug":
            served_model = "openai/gpt-x-20260709"
        if plant == "cancelled_billed":
            body["cancelled"] = True
        body["model"] = served_model
    elif kind == "fastrouter":
        cost = money(list_cost(price=price, prompt=prompt, completion=completion))
        key_hash = sha256(secret)
        if plant == "key_mismatch":
            key_hash = sha256("someone-else's-key")
        body = {
            "id": external_id,
            "model": model,
            "provider_name": "openai",
            "api_key": key_hash,
            "credits_used": cost,
            "input_token_size": prompt,
            "output_token_size": completion,
            "is_byok": False,
            "created_at": int(created_at.timestamp()),
        }
    else:
        cost = money(
            list_cost(price=price, prompt=prompt, completion=completion, cache_read=cached, cache_write=cache_write)
            * (1 - KUSHROUTER_DISCOUNT)
        )
        if plant == "dated_slug":
            served_model = "claude-sonnet-20250514"
        body = {
            "id": external_id,
            "endpoint": "anthropic.messages",
            "stream": False,
            "model": served_model,
            "created_at": int(created_at.timestamp()),
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cached,
            },
            "finish_reason": "stop",
        }

    if plant == "cost_mismatch":
        cost = money(cost * Decimal("1.25")) + Decimal("0.0001")
    if plant == "token_mismatch":
        recorded_tokens = (prompt + 17, completion, cached)
    if scripts and not plant and rng.random() < 0.3:
        script = rng.choice([["404", "ok"], ["404", "404", "ok"], ["429", "ok"], ["500", "ok"], ["502", "429", "ok"]])

    spec = None
    if plant != "missing_upstream":
        spec = {"protocol": kind, "id": external_id, "key": secret, "created_at": created_at.isoformat(), "body": body}
        if script:
            spec["script"] = script
        if plant:
            spec["planted"] = plant
    expected_kinds = EXPECTED_KINDS.get(plant, {plant} if plant else set())
    expected_state = FINAL_STATES.get(plant) or NOT_DISPUTED.get(plant, "disputed")
    return Planned(
        key_name=key_name,
        external_id=external_id,
        model=model,
        created_at=created_at,
        tokens_prompt=recorded_tokens[0],
        tokens_completion=recorded_tokens[1],
        tokens_cached=recorded_tokens[2],
        cost=cost,
        spec=spec,
        expected_kinds=expected_kinds,
        expected_state=expected_state,
        planted=plant,
    )


def generations_store(world: World, planned: list[Planned], *, next_attempt_at: datetime | None = None) -> list[Generation]:
    """Store our side of the planned generations, pending and due, with their roll-ups."""
    due = next_attempt_at or timezone.now()
    generations = [
        Generation(
            gateway=world.keys[plan.key_name].gateway,
            external_id=plan.external_id,
            api_key=world.keys[plan.key_name],
            team=world.team,
            model=plan.model,
            created_at=plan.created_at,
            tokens_prompt=plan.tokens_prompt,
            tokens_completion=plan.tokens_completion,
            tokens_cached=plan.tokens_cached,
            cost=plan.cost,
            is_byok=world.keys[plan.key_name].is_byok,
            next_attempt_at=due,
            # A planted missing one was already looked up inside its grace window; this lookup is
            # its last before missing_upstream (generations/scheduling.py MISSING_MIN_LOOKUPS).
            attempts=MISSING_MIN_LOOKUPS - 1 if plan.planted == "missing_upstream" else 0,
        )
        for plan in planned
    ]
    created = Generation.objects.bulk_create(generations)
    rollup_generations_added(created)
    return created


def rollups_match_generations() -> list[str]:
    """Differences between the roll-ups and sums over the raw generations (empty when right)."""
    problems = []
    states = ("pending", "verified", "disputed", "missing", "expired")
    rolled = DailySpend.objects.aggregate(
        generations=Sum("generations"),
        recorded=Sum("recorded_cost"),
        charged=Sum("charged_cost"),
        verified_charged=Sum("verified_charged_cost"),
        **{state: Sum(state) for state in states},
    )
    raw = Generation.objects.aggregate(recorded=Sum("cost"), charged=Sum("charged_cost"))
    expected = {
        "generations": Generation.objects.count(),
        "recorded": raw["recorded"],
        "charged": raw["charged"] or Decimal(0),
        "verified_charged": Generation.objects.filter(state="verified").aggregate(total=Sum("charged_cost"))["total"]
        or Decimal(0),
        **{state: Generation.objects.filter(state=state).count() for state in states},
    }
    for name, value in expected.items():
        if (rolled[name] or 0) != value:
            problems.append(f"{name}: roll-ups {rolled[name]}, generations {value}")
    return problems


def outcome_apply(*, generation: Generation, outcome, leased_until: datetime, prices) -> str:
    """One lookup's outcome decided and written as a batch of one, the way a batch is: what
    happened (the new state, retried, released or skipped)."""
    now = timezone.now()
    decision = generation_decide(generation=generation, outcome=outcome, prices=prices, now=now)
    [(result, _)] = decisions_apply(decisions=[(generation, decision)], leased_until=leased_until, now=now).items()
    return result
