"""The key page's one read of its month by day and by model: the same rows as the two reads it replaces."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing.selectors import key_spend_by_day, key_spend_by_day_and_model, key_spend_by_model
from tests.billing.spend_data import generations_add, mixed_month_add, month_start, spend_world

pytestmark = pytest.mark.django_db


def test_it_groups_a_keys_month_by_day_and_by_model_as_the_separate_reads_do():
    world = spend_world()
    start = month_start(1)
    mixed_month_add(world.key, start)
    # Not the key's month: another key, and the key's next month.
    generations_add(world.second_key, created_at=start, cost="3.10")
    generations_add(world.key, created_at=month_start(0), cost="7.77")
    span = {"api_key": world.key, "start": start.date(), "end": month_start(0).date()}

    by_day, by_model = key_spend_by_day_and_model(**span)

    assert by_day == key_spend_by_day(**span)
    assert by_model == key_spend_by_model(**span)
    assert [row.key for row in by_day] == [start.date(), (start + timedelta(days=3)).date()]
    assert [row.key for row in by_model] == ["anthropic/claude-sonnet-4", "openai/gpt-4o-mini"]
    models = {row.key: row for row in by_model}
    assert models["openai/gpt-4o-mini"].recorded_cost == Decimal("0.400000000000000003")
    assert models["openai/gpt-4o-mini"].disputed == 1
    assert models["anthropic/claude-sonnet-4"].verified_charged_cost == Decimal("2.5000002")
    assert isinstance(by_day[0].generations, int)


def test_a_key_with_no_spend_in_the_month_has_no_rows():
    world = spend_world()
    generations_add(world.key, created_at=month_start(0), cost="1.00")

    assert key_spend_by_day_and_model(
        api_key=world.key, start=month_start(1).date(), end=month_start(0).date()
    ) == ([], [])
