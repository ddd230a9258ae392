"""The reconciliation overview's oldest pending generation, read from the roll-ups and one day."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.selectors_overview import gateways_overview, oldest_pending_by_gateway
from generations.models import GenerationState
from tests.billing.invoice_helpers import make_gateway, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db


def test_it_finds_the_exact_time_of_each_gateways_oldest_pending_generation():
    team = make_team("acme")
    key = make_key(team)
    second_key = make_key(team, name="batch")
    other_gateway_key = make_key(team, name="kush", gateway=make_gateway("kushrouter"))
    day = datetime(2026, 3, 9, tzinfo=UTC)
    make_generation(key, cost="1", state=GenerationState.VERIFIED, charged="1", at=day - timedelta(days=3))
    make_generation(key, cost="1", at=day + timedelta(hours=20))
    make_generation(second_key, cost="1", at=day + timedelta(hours=7, seconds=1))
    make_generation(key, cost="1", at=day + timedelta(days=2))
    make_generation(other_gateway_key, cost="1", at=day + timedelta(days=4, minutes=5))

    oldest = oldest_pending_by_gateway()

    assert oldest == {
        key.gateway_id: day + timedelta(hours=7, seconds=1),
        other_gateway_key.gateway_id: day + timedelta(days=4, minutes=5),
    }


def test_the_overview_reads_a_bounded_number_of_queries_whatever_the_number_of_pending_days():
    team = make_team("acme")
    key = make_key(team)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for day in range(20):
        make_generation(key, cost="1", at=start + timedelta(days=day, hours=1))

    with CaptureQueriesContext(connection) as queries:
        [row] = gateways_overview(now=start + timedelta(days=30))

    assert row.oldest_pending_at == start + timedelta(hours=1)
    assert row.pending == 20
    assert len(queries) <= 6
    generation_reads = [query["sql"] for query in queries if 'FROM "generations_generation"' in query["sql"]]
    assert len(generation_reads) == 1 and '"created_at" >= ' in generation_reads[0]
