"""The demo: teams, people, gateways, keys, prices and six weeks of generations to reconcile.

`demo_seed` writes the database side and, for the gateway simulator, what each gateway will say
about every generation (`var/demo/simulator.jsonl`). About 6% of the generations carry a planted
difference, named in the spec's "planted" field (the simulator ignores it) so tests and people
can check that reconciliation finds each one. "harmless_*" plants must produce no error finding.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from accounts.models import AccessToken, ApiKey, Gateway, Membership, Team
from accounts.secrets import fingerprint
from billing.models import ModelPrice
from billing.reconciliation.facts import MONEY_QUANTUM, PER_MILLION
from demo.coverage import demo_coverage_seed
from demo.simulator.records import sample_body
from demo.sources import demo_sources_seed
from generations.gateways.exact_json import dumps_exact
from generations.models import Generation, GenerationState
from generations.rollups import rollup_generations_added

DEMO_PASSWORD = "tally-demo"
BYOK_FEE_RATE = Decimal("0.05")
PLANTED_SHARE = 0.075
TEAMS = (("Acme Research", "acme"), ("Globex Labs", "globex"), ("Initech", "initech"))


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

# slug, name, kind (also the simulator's path), concurrency, retention days, discount
GATEWAYS = (
    ("openrouter", "OpenRouter", "openrouter", 30, None, Decimal("0")),
    ("fastrouter", "FastRouter", "fastrouter", 30, None, Decimal("0")),
    # KushRouter keeps records "at least 7 days"; the demo's account keeps them 60.
    ("kushrouter", "KushRouter", "kushrouter", 30, 60, Decimal("0.30")),
    ("llmhub", "LLM Hub (OpenRouter-compatible)", "openrouter", 30, None, Decimal("0")),
)
PLANTS_BY_KIND = {
    "openrouter": (
        "cost_mismatch", "token_mismatch", "upstream_inconsistent", "model_substituted",
        "harmless_dated_slug", "cancelled_billed", "missing_upstream", "harmless_negative_cache_discount",
    ),
    "openrouter_byok": ("byok_mismatch", "byok_fee_unexpected", "cost_mismatch", "missing_upstream"),
    "fastrouter": ("cost_mismatch", "token_mismatch", "key_mismatch", "model_substituted", "missing_upstream"),
    "kushrouter": ("token_mismatch", "cost_mismatch", "model_substituted", "missing_upstream"),
}


@dataclass
class DemoSummary:
    teams: int = 0
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, password, what they are
    gateways: int = 0
    api_keys: int = 0
    generations: int = 0
    planted: dict[str, int] = field(default_factory=dict)
    access_tokens: list[tuple[str, str]] = field(default_factory=list)
    simulator_file: Path | None = None
    logins_file: Path | None = None
    notes: list[str] = field(default_factory=list)


def money(amount: Decimal) -> Decimal:
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def demo_seed(
    *,
    simulator_port: int = 8001,
    generations: int = 3000,
    var_dir: Path | None = None,
    seed: int = 2024,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> DemoSummary:
    """Create the demo (teams, users, gateways, keys, prices, generations) and write the simulator's data.

    Generations span last month and this month so far, all pending and due now. Their gateway
    side goes to `<var>/demo/simulator.jsonl` and the logins to `<var>/demo/logins.txt`.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    demo_dir = Path(var_dir or settings.VAR_DIR) / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    summary = DemoSummary()
    with transaction.atomic():
        teams = _teams_and_people(summary)
        gateways = _gateways(simulator_port, summary)
        keys = _api_keys(teams, gateways, rng, summary)
        _prices(gateways, now)
        specs = _generations(keys, now, generations, rng, summary)
        source_specs, from_sources = demo_sources_seed(keys=keys, now=now)
        specs += source_specs
        summary.generations += sum(from_sources.values())
        summary.notes.append(
            "Generations that arrived from where they were recorded: "
            + ", ".join(f"{count} from {source}" for source, count in from_sources.items())
        )
        production = next(key for key in keys if key.api_key.slug == "acme-openrouter")
        unposted = demo_coverage_seed(
            gateway=gateways["openrouter"], api_key=production.api_key, secret=production.secret,
            now=now, rng=rng, demo_dir=demo_dir,
        )  # fmt: skip
        specs.extend(unposted)
        summary.planted["unrecorded_spend"] = len(unposted)
    summary.simulator_file = demo_dir / "simulator.jsonl"
    summary.simulator_file.write_text("".join(dumps_exact(spec) + "\n" for spec in specs))
    summary.logins_file = demo_dir / "logins.txt"
    summary.logins_file.write_text(
        "".join(f"{username} / {password}  ({role})\n" for username, password, role in summary.users)
    )
    # run_tally starts `demo_settle` while this marker exists; it removes it when done.
    (demo_dir / "settle.pending").touch()
    log(f"Wrote {len(specs)} gateway records to {summary.simulator_file}")
    return summary


def _teams_and_people(summary: DemoSummary) -> list[Team]:
    admin = User.objects.create_superuser("admin", "admin@example.com", "admin")
    summary.users.append(("admin", "admin", "superuser: /admin/"))
    finance = User.objects.create_user("finance", "finance@example.com", "finance", is_staff=True)
    group = Group.objects.filter(name="Finance").first()
    if group:
        finance.groups.add(group)
        summary.users.append(("finance", "finance", "Finance group: /admin/"))
    else:
        summary.users.append(("finance", "finance", "staff (no Finance group yet)"))
        summary.notes.append("The Finance group does not exist yet: 'finance' is staff without permissions.")
    teams = []
    for name, slug in TEAMS:
        team = Team.objects.create(name=name, slug=slug, invoice_markup=Decimal("0.05") if slug == "globex" else 0)
        teams.append(team)
        for role in Membership.Role:
            user = User.objects.create_user(f"{slug}-{role.value}", f"{role.value}@{slug}.example.com", DEMO_PASSWORD)
            Membership.objects.create(user=user, team=team, role=role)
            summary.users.append((user.username, DEMO_PASSWORD, f"{role.value} of {name}: /spend/"))
        _token, plaintext = AccessToken.issue(team=team, scopes=["ingest", "read"], name="demo")
        summary.access_tokens.append((slug, plaintext))
    Membership.objects.create(user=admin, team=teams[0], role=Membership.Role.ADMIN)
    summary.teams = len(teams)
    return teams


def _gateways(port: int, summary: DemoSummary) -> dict[str, Gateway]:
    gateways = {}
    for slug, name, kind, concurrency, retention, discount in GATEWAYS:
        gateways[slug] = Gateway.objects.create(
            slug=slug,
            name=name,
            kind=kind,
            base_url=f"http://127.0.0.1:{port}/{kind}",
            concurrency=concurrency,
            grace_seconds=600,
            retention_days=retention,
            discount=discount,
        )
    summary.gateways = len(gateways)
    return gateways


@dataclass(frozen=True)
class DemoKey:
    api_key: ApiKey
    secret: str
    gateway: Gateway


def _api_keys(teams: list[Team], gateways: dict[str, Gateway], rng: random.Random, summary: DemoSummary) -> list[DemoKey]:
    plan = (
        ("openrouter", "Production", False, Decimal("500")),
        ("openrouter", "Own Anthropic account (BYOK)", True, Decimal("300")),
        ("fastrouter", "Batch jobs", False, None),
        ("kushrouter", "Agents", False, Decimal("200")),
        ("llmhub", "Experiments", False, None),
    )
    keys = []
    for team in teams:
        for gateway_slug, name, byok, budget in plan:
            secret = f"sk-{gateway_slug}-{rng.getrandbits(128):032x}"
            api_key = ApiKey(
                team=team,
                gateway=gateways[gateway_slug],
                slug=f"{team.slug}-{gateway_slug}{'-byok' if byok else ''}",
                name=name,
                is_byok=byok,
                monthly_budget=budget,
            )
            api_key.set_secret(secret)
            api_key.save()
            keys.append(DemoKey(api_key=api_key, secret=secret, gateway=gateways[gateway_slug]))
    summary.api_keys = len(keys)
    return keys


def _prices(gateways: dict[str, Gateway], now: datetime) -> None:
    """Import only the prices the catalog does not already have right (see DemoModel.imported)."""
    valid_from = (now.replace(day=1) - timedelta(days=40)).replace(day=1).date()
    ModelPrice.objects.bulk_create(
        ModelPrice(
            gateway=gateway,
            model=model.slug,
            prompt=model.prompt,
            completion=model.completion,
            cache_read=model.cache_read,
            cache_write=model.cache_write,
            valid_from=valid_from,
        )
        for gateway in gateways.values()
        for model in MODELS
        if model.imported
    )


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


def _generations(
    keys: list[DemoKey], now: datetime, count: int, rng: random.Random, summary: DemoSummary
) -> list[dict[str, Any]]:
    start = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
    span = (now - timedelta(minutes=15) - start).total_seconds()
    rows, specs = [], []
    for index in range(count):
        call = _random_call(keys, start + timedelta(seconds=rng.uniform(0, span)), index, rng)
        byok_key = call.key.api_key.is_byok
        plants = PLANTS_BY_KIND["openrouter_byok" if byok_key else call.kind]
        planted = rng.choice(plants) if rng.random() < PLANTED_SHARE else ""
        if planted == "model_substituted" and call.model.slug not in SUBSTITUTES:
            planted = ""
        if planted == "harmless_dated_slug" and call.model.slug not in DATED:
            planted = ""
        generation, spec = _planted_call(call, planted, keys, rng)
        rows.append(generation)
        specs.append(spec)
        if planted:
            summary.planted[planted] = summary.planted.get(planted, 0) + 1
    for chunk_start in range(0, len(rows), 1000):
        chunk = Generation.objects.bulk_create(rows[chunk_start : chunk_start + 1000])
        rollup_generations_added(chunk)
    summary.generations = len(rows)
    return specs


def _random_call(keys: list[DemoKey], created_at: datetime, index: int, rng: random.Random) -> Call:
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
    if call.kind == "kushrouter":  # uncached prompt tokens, cache reads and writes on top
        total = (
            call.prompt * model.prompt
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


def _planted_call(call: Call, planted: str, keys: list[DemoKey], rng: random.Random) -> tuple[Generation, dict]:
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
