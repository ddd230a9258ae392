"""What the database itself refuses, whatever the code above it does."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.services import api_key_create, gateway_create, team_create
from billing.models import Discrepancy, DiscrepancyKind, Severity
from generations.models import Generation
from generations.rollups import rollup_generations_added

pytestmark = pytest.mark.django_db


@pytest.fixture
def generation() -> Generation:
    team = team_create(name="Research")
    gateway = gateway_create(slug="openrouter", kind="openrouter", base_url="https://openrouter.example")
    api_key = api_key_create(team=team, gateway=gateway, name="Key", secret="sk-or-v1-constraints-0001")
    generation = unsaved_generation(api_key=api_key, external_id="gen-1")
    with transaction.atomic():
        generation.save()
        rollup_generations_added([generation])
    return generation


def unsaved_generation(*, api_key, external_id: str) -> Generation:
    return Generation(
        gateway=api_key.gateway,
        external_id=external_id,
        api_key=api_key,
        team=api_key.team,
        model="openai/gpt-4o-mini",
        created_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
        tokens_prompt=1200,
        tokens_completion=300,
        cost=Decimal("0.000360000000"),
    )


def test_a_second_generation_with_the_same_gateway_and_external_id_is_refused(generation: Generation) -> None:
    duplicate = unsaved_generation(api_key=generation.api_key, external_id=generation.external_id)

    with pytest.raises(IntegrityError), transaction.atomic():
        Generation.objects.bulk_create([duplicate])

    assert Generation.objects.count() == 1


def test_the_same_external_id_on_another_gateway_is_a_different_generation(generation: Generation) -> None:
    other_gateway = gateway_create(slug="compatible", kind="openrouter", base_url="https://compatible.example")
    other_key = api_key_create(team=generation.team, gateway=other_gateway, name="Other", secret="sk-other-0002")
    other = unsaved_generation(api_key=other_key, external_id=generation.external_id)

    with transaction.atomic():
        other.save()
        rollup_generations_added([other])

    assert Generation.objects.filter(external_id=generation.external_id).count() == 2


def test_a_second_discrepancy_of_the_same_kind_for_a_generation_is_refused(generation: Generation) -> None:
    finding = {"generation": generation, "kind": DiscrepancyKind.COST_MISMATCH, "severity": Severity.ERROR}
    Discrepancy.objects.create(**finding)

    with pytest.raises(IntegrityError), transaction.atomic():
        Discrepancy.objects.create(**finding)

    Discrepancy.objects.create(**{**finding, "kind": DiscrepancyKind.TOKEN_MISMATCH})
    assert Discrepancy.objects.filter(generation=generation).count() == 2
