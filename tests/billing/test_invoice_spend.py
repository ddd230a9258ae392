"""What a month bills, summed by the database (billing/invoicing/spend.py), is what SpendRow says it is."""

from decimal import Decimal

import pytest

from billing.invoicing.spend import billable_by, billable_by_group, spend_rows_by
from generations.models import DailySpend, GenerationState
from tests.billing.spend_data import generations_add, mixed_month_add, month_start, spend_world

pytestmark = pytest.mark.django_db


def test_billable_sums_are_spend_rows_amount_and_verified_charges_per_key_and_model():
    world = spend_world()
    start = month_start(1)
    mixed_month_add(world.key, start)
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
