"""Test data for invoices: teams, keys and generations made with the ORM, roll-ups kept right."""

import importlib
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, User

from accounts.models import ApiKey, Gateway, Membership, Team
from billing.models import Discrepancy, DiscrepancyKind, DiscrepancyStatus, Severity
from generations.models import Generation, GenerationState
from generations.rollups import SpendFacts, rollup_generations_added, rollup_generations_changed

PERIOD = date(2026, 3, 1)
_sequence = itertools.count(1)


def make_team(slug: str = "acme", markup: str = "0") -> Team:
    return Team.objects.create(name=slug.title(), slug=slug, invoice_markup=Decimal(markup))


def make_gateway(slug: str = "openrouter") -> Gateway:
    gateway, _ = Gateway.objects.get_or_create(
        slug=slug, defaults={"name": slug, "kind": Gateway.Kind.OPENROUTER, "base_url": "http://127.0.0.1:9/or"}
    )
    return gateway


def make_key(team: Team, name: str = "prod", gateway: Gateway | None = None) -> ApiKey:
    api_key = ApiKey(team=team, gateway=gateway or make_gateway(), name=name, slug=f"{team.slug}-{name}")
    api_key.set_secret(f"sk-test-{team.slug}-{name}-{next(_sequence):04d}")
    api_key.save()
    return api_key


def make_generation(
    api_key: ApiKey,
    *,
    cost: str,
    charged: str | None = None,
    state: str = GenerationState.PENDING,
    model: str = "openai/gpt-4o",
    at: datetime | None = None,
    tokens: tuple[int, int] = (100, 50),
) -> Generation:
    generation = Generation.objects.create(
        gateway=api_key.gateway,
        external_id=f"gen-{next(_sequence):06d}",
        api_key=api_key,
        team=api_key.team,
        model=model,
        created_at=at or datetime(PERIOD.year, PERIOD.month, 10, 12, tzinfo=UTC),
        tokens_prompt=tokens[0],
        tokens_completion=tokens[1],
        cost=Decimal(cost),
        charged_cost=Decimal(charged) if charged is not None else None,
        state=state,
    )
    rollup_generations_added([generation])
    return generation


def reconcile(generation: Generation, *, state: str, charged: str | None) -> Generation:
    """What reconciliation does to a generation: new state and charged cost, roll-ups moved."""
    before = SpendFacts.of(generation)
    generation.state = state
    generation.charged_cost = Decimal(charged) if charged is not None else None
    generation.save(update_fields=["state", "charged_cost"])
    rollup_generations_changed([(before, SpendFacts.of(generation))])
    return generation


def make_discrepancy(
    generation: Generation,
    *,
    kind: str = DiscrepancyKind.COST_MISMATCH,
    severity: str = Severity.ERROR,
    status: str = DiscrepancyStatus.OPEN,
) -> Discrepancy:
    expected, actual = generation.cost, generation.charged_cost
    return Discrepancy.objects.create(
        generation=generation,
        kind=kind,
        severity=severity,
        expected=expected,
        actual=actual,
        delta=(actual - expected) if actual is not None else None,
        status=status,
    )


def finance_group() -> Group:
    """The group the migration made; made again if a transactional test flushed the tables."""
    group = Group.objects.filter(name="Finance").first()
    if group is None:
        for app_config in django_apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        importlib.import_module("billing.migrations.0002_finance_group").finance_group_fill(django_apps)
        group = Group.objects.get(name="Finance")
    return group


def make_finance_user(username: str = "finance") -> User:
    user = User.objects.create_user(username, password="finance-pass-123", is_staff=True)
    user.groups.add(finance_group())
    return user


def make_member(team: Team, username: str = "member") -> User:
    user = User.objects.create_user(username, password="member-pass-123")
    Membership.objects.create(user=user, team=team, role=Membership.Role.ADMIN)
    return user
