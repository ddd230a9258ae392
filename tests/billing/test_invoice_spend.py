"""What a month bills, summed by the database (billing/invoicing/spend.py), is what SpendRow says it is."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.invoicing.spend import billable_by, billable_by_group, spend_rows_by
from generations.models import DailySpend, GenerationState
from tests.billing.spend_data import generation_dispute, generations_add, month_start, spend_world

pytestmark = pytest.mark.django_db


def test_billable_sums_are_spend_rows_amount_and_verified_charges_per_key_and_model():
    world = spend_world()
    start = month_start(1)
    generations_add(world.key, created_at=start, cost="0.000000000000000001", count=3)
    generations_add(
        world.key,
        created_at=start + timedelta(days=2),
        cost="1.25",
        model="anthropic/claude-sonnet-4",
        state=GenerationState.VERIFIED,
        charged="1.2500001",
        tokens=(9000, 2100),
        count=2,
    )
    disputed = generations_add(world.key, created_at=start + timedelta(days=2), cost="0.40")[0]
    generation_dispute(disputed, charged="0.52")
    generations_add(world.other_key, created_at=start, cost="3.10", state=GenerationState.VERIFIED, charged="3.00")
    month = DailySpend.objects.filter(day__gte=start.date(), day__lt=month_start(0).date())
    fields = ("api_key_id", "model")

    billable = billable_by(month, fields)

    rows = spend_rows_by(month, fields)
    assert list(billable) == [row.key for row in rows]
    for row in rows:
        figures = billable[row.key]
        assert (figures.generations, figures.tokens, figures.amount, figures.verified_amount) == (
            row.generations,
            row.tokens,
            row.amount,
            row.verified_charged_cost,
        )
    assert billable[(world.key.pk, "anthropic/claude-sonnet-4")].amount == Decimal("2.5000002")
    by_team = billable_by_group(month, "team_id", fields)
    assert set(by_team) == {world.team.pk, world.other_team.pk}
    other = (world.other_key.pk, "openai/gpt-4o-mini")
    assert by_team[world.other_team.pk] == {other: billable[other]}
