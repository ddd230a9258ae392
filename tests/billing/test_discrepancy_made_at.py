"""A finding on a generation always knows when its generation was made: a month's findings are
read by that alone (the spend page's count, period close's adjustments), so none may lack it."""

import pytest
from django.db import IntegrityError, transaction

from billing.models import Discrepancy, Severity
from tests.billing.spend_data import generation_dispute, generations_add, month_start, spend_world

pytestmark = pytest.mark.django_db


def test_a_finding_saved_on_a_generation_takes_its_generations_creation_time():
    world = spend_world()
    generation = generations_add(world.key, created_at=month_start(1), cost="0.30")[0]

    finding = generation_dispute(generation, charged="0.90")

    finding.refresh_from_db()
    assert finding.generation_created_at == generation.created_at


def test_the_database_refuses_a_finding_on_a_generation_without_it():
    world = spend_world()
    generation = generations_add(world.key, created_at=month_start(), cost="0.30")[0]
    unplaced = Discrepancy(
        generation=generation, api_key_id=generation.api_key_id, team_id=generation.team_id,
        kind="cost_mismatch", severity=Severity.ERROR,
    )  # fmt: skip

    with pytest.raises(IntegrityError, match="discrepancy_made_at"), transaction.atomic():
        Discrepancy.objects.bulk_create([unplaced])  # bulk_create skips save(), as bulk writers do
    assert not Discrepancy.objects.filter(generation=generation).exists()
