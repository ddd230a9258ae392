"""Teams, keys, users and generations for the spend page tests, made with the ORM.

Generations are created the way ingest creates them: stored, then added to the daily roll-ups.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Membership, Team
from billing.models import Discrepancy
from generations.models import GatewayRecord, Generation, GenerationState
from generations.rollups import SpendFacts, rollup_generations_added, rollup_generations_changed

PASSWORD = "quiet-harbour-4417"
_sequence = itertools.count(1)


def month_start(months_back: int = 0) -> datetime:
    """Midnight UTC on the first day of the current month, or of one `months_back` before it."""
    first = timezone.now().astimezone(UTC).date().replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    return datetime(first.year, first.month, 1, tzinfo=UTC)


def month_slug(start: datetime) -> str:
    return f"{start:%Y-%m}"


def user_create(username: str, *, email: str = "", password: str | None = None) -> User:
    """A user; without a password unless one is given, since hashing one is slow by design."""
    return User.objects.create_user(username, email=email or f"{username}@example.com", password=password)


def key_create(*, team: Team, gateway: Gateway, name: str, budget: Decimal | None = None, byok: bool = False) -> ApiKey:
    number = next(_sequence)
    api_key = ApiKey(team=team, gateway=gateway, slug=f"{team.slug}-key-{number}", name=name, is_byok=byok)
    api_key.monthly_budget = budget
    api_key.set_secret(f"sk-test-{team.slug}-{number:04d}")
    api_key.save()
    return api_key


@dataclass
class SpendWorld:
    team: Team
    other_team: Team
    gateway: Gateway
    key: ApiKey
    second_key: ApiKey
    other_key: ApiKey
    admin: User
    member: User
    viewer: User
    outsider: User


def spend_world() -> SpendWorld:
    """Two teams: ours (an admin, a member, a viewer; two keys) and another with its own user and key."""
    gateway = Gateway.objects.create(
        slug=f"openrouter-{next(_sequence)}", name="OpenRouter", kind=Gateway.Kind.OPENROUTER, base_url="http://127.0.0.1:9/"
    )
    team = Team.objects.create(name="Research", slug=f"research-{next(_sequence)}")
    other_team = Team.objects.create(name="Marketing", slug=f"marketing-{next(_sequence)}")
    world = SpendWorld(
        team=team,
        other_team=other_team,
        gateway=gateway,
        key=key_create(team=team, gateway=gateway, name="Assistant production", budget=Decimal("50.00")),
        second_key=key_create(team=team, gateway=gateway, name="Batch jobs"),
        other_key=key_create(team=other_team, gateway=gateway, name="Campaign writer"),
        admin=user_create(f"ada-{next(_sequence)}"),
        member=user_create(f"max-{next(_sequence)}"),
        viewer=user_create(f"vera-{next(_sequence)}"),
        outsider=user_create(f"otto-{next(_sequence)}"),
    )
    Membership.objects.create(user=world.admin, team=team, role=Membership.Role.ADMIN)
    Membership.objects.create(user=world.member, team=team, role=Membership.Role.MEMBER)
    Membership.objects.create(user=world.viewer, team=team, role=Membership.Role.VIEWER)
    Membership.objects.create(user=world.outsider, team=other_team, role=Membership.Role.MEMBER)
    return world


def generations_add(
    api_key: ApiKey,
    *,
    created_at: datetime,
    cost: str,
    state: str = GenerationState.PENDING,
    charged: str | None = None,
    model: str = "openai/gpt-4o-mini",
    count: int = 1,
    tokens: tuple[int, int] = (1200, 300),
    spacing: timedelta = timedelta(minutes=1),
    external_id: str = "",
) -> list[Generation]:
    """Store `count` generations a `spacing` apart from `created_at`, and roll them up."""
    generations = [
        Generation(
            gateway=api_key.gateway,
            external_id=external_id or f"gen-{next(_sequence):07d}",
            api_key=api_key,
            team_id=api_key.team_id,
            model=model,
            created_at=created_at + spacing * index,
            tokens_prompt=tokens[0],
            tokens_completion=tokens[1],
            cost=Decimal(cost),
            state=state,
            charged_cost=None if charged is None else Decimal(charged),
        )
        for index in range(count)
    ]
    with transaction.atomic():
        Generation.objects.bulk_create(generations)
        rollup_generations_added(generations)
    return generations


def generation_dispute(generation: Generation, *, charged: str, kind: str = "cost_mismatch") -> Discrepancy:
    """What reconciliation does to a generation the gateway charged differently: a record,
    a finding, the state and the roll-ups moved in one transaction."""
    with transaction.atomic():
        before = SpendFacts.of(generation)
        generation.state = GenerationState.DISPUTED
        generation.charged_cost = Decimal(charged)
        generation.save(update_fields=["state", "charged_cost"])
        rollup_generations_changed([(before, SpendFacts.of(generation))])
        GatewayRecord.objects.create(
            generation=generation,
            served_model=generation.model,
            total_cost=Decimal(charged),
            tokens_prompt=generation.tokens_prompt,
            tokens_completion=generation.tokens_completion,
            raw=f'{{"data": {{"id": "{generation.external_id}", "total_cost": {charged}}}}}',
        )
        return Discrepancy.objects.create(
            generation=generation,
            kind=kind,
            severity="error",
            expected=generation.cost,
            actual=Decimal(charged),
            delta=Decimal(charged) - generation.cost,
            detail="The gateway charged more than the recorded cost.",
        )


def mixed_month_add(api_key: ApiKey, start: datetime) -> None:
    """A month of a key with every kind of spend a sum must keep exact: three generations of an
    attodollar on its first day; on its fourth, two verified ones of another model charged a
    ten-millionth more than recorded, and one disputed (recorded 0.40, charged 0.52)."""
    generations_add(api_key, created_at=start, cost="0.000000000000000001", count=3)
    generations_add(
        api_key,
        created_at=start + timedelta(days=3),
        cost="1.25",
        model="anthropic/claude-sonnet-4",
        state=GenerationState.VERIFIED,
        charged="1.2500001",
        tokens=(9000, 2100),
        count=2,
    )
    disputed = generations_add(api_key, created_at=start + timedelta(days=3, hours=2), cost="0.40")[0]
    generation_dispute(disputed, charged="0.52")


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
