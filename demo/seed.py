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
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from accounts.models import AccessToken, ApiKey, Gateway, Membership, Team
from billing.models import ModelPrice
from demo.calls import DATED, MODELS, PLANTED_SHARE, PLANTS_BY_KIND, SUBSTITUTES, DemoKey, planted_call, random_call
from demo.coverage import demo_coverage_seed
from demo.sources import demo_sources_seed
from lib.exact_json import dumps_exact
from generations.models import Generation
from demo.alerts import demo_key_near_its_budget
from generations.rollups import rollup_generations_added

DEMO_PASSWORD = "tally-demo"
TEAMS = (("Acme Research", "acme"), ("Globex Labs", "globex"), ("Initech", "initech"))
# Who each demo team's invoices are addressed to (Team.bill_to_name and bill_to_address).
BILL_TO = {
    "acme": ("Acme Research Ltd", "12 Harbour Road\nBristol BS1 4DJ\nUnited Kingdom"),
    "globex": ("Globex Labs Inc.", "500 Market Street, Suite 900\nSan Francisco, CA 94105\nUSA"),
    "initech": ("Initech GmbH", "Torstrasse 21\n10119 Berlin\nGermany"),
}


# slug, name, kind (also the simulator's path), concurrency, retention days, discount
GATEWAYS = (
    ("openrouter", "OpenRouter", "openrouter", 30, None, Decimal("0")),
    ("fastrouter", "FastRouter", "fastrouter", 30, None, Decimal("0")),
    # KushRouter keeps records "at least 7 days"; the demo's account keeps them 60.
    ("kushrouter", "KushRouter", "kushrouter", 30, 60, Decimal("0.30")),
    ("llmhub", "LLM Hub (OpenRouter-compatible)", "openrouter", 30, None, Decimal("0")),
)
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
        demo_key_near_its_budget(api_keys=[key.api_key for key in keys], now=now)
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
        bill_to_name, bill_to_address = BILL_TO[slug]
        team = Team.objects.create(
            name=name,
            slug=slug,
            invoice_markup=Decimal("0.0525") if slug == "globex" else 0,
            bill_to_name=bill_to_name,
            bill_to_address=bill_to_address,
        )
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


def _generations(
    keys: list[DemoKey], now: datetime, count: int, rng: random.Random, summary: DemoSummary
) -> list[dict[str, Any]]:
    start = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
    span = (now - timedelta(minutes=15) - start).total_seconds()
    rows, specs = [], []
    for index in range(count):
        call = random_call(keys, start + timedelta(seconds=rng.uniform(0, span)), index, rng)
        byok_key = call.key.api_key.is_byok
        plants = PLANTS_BY_KIND["openrouter_byok" if byok_key else call.kind]
        planted = rng.choice(plants) if rng.random() < PLANTED_SHARE else ""
        if planted == "model_substituted" and call.model.slug not in SUBSTITUTES:
            planted = ""
        if planted == "harmless_dated_slug" and call.model.slug not in DATED:
            planted = ""
        generation, spec = planted_call(call, planted, keys, rng)
        rows.append(generation)
        specs.append(spec)
        if planted:
            summary.planted[planted] = summary.planted.get(planted, 0) + 1
    for chunk_start in range(0, len(rows), 1000):
        chunk = Generation.objects.bulk_create(rows[chunk_start : chunk_start + 1000])
        rollup_generations_added(chunk)
    summary.generations = len(rows)
    return specs

