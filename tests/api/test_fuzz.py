"""Fuzzing the API: no request makes it answer 500, and none writes part of what it was sent.

Two runs: schemathesis generates requests for every operation from /api/schema/ (against the
WSGI app in-process, with a valid token), and hypothesis generates ingest bodies that mix valid
records with broken ones, to check all-or-nothing directly.
"""

import json
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from generations.models import DailySpend, Generation
from tests.api.factories import TeamWorld, make_gateways, make_generation, make_team

pytestmark = pytest.mark.slow


@pytest.fixture
def in_test_transaction(db):
    """Calls to the WSGI app share the test's transaction: like Django's test client, keep the
    request signals from closing the connection (which would end the transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(in_test_transaction):
    return schemathesis.from_wsgi("/api/schema/?format=json", application)


schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def world(in_test_transaction) -> TeamWorld:
    world = make_team("alpha", make_gateways())
    make_team("beta", {"openrouter": world.key.gateway, "fastrouter": world.fast_key.gateway})
    make_generation(world.key, external_id="gen-1")
    return world


def generations_stored() -> tuple[int, int]:
    rolled_up = sum(DailySpend.objects.values_list("generations", flat=True))
    return Generation.objects.count(), rolled_up


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_answers_500_or_writes_partially(case, world):
    before = generations_stored()

    response = case.call_wsgi(headers={"Authorization": f"Bearer {world.both_token}"})

    case.validate_response(response, checks=(not_a_server_error,))
    created = response.json["created"] if response.status_code == 201 else 0
    after = generations_stored()
    assert after == (before[0] + created, before[1] + created)
    assert not connection.needs_rollback


def _valid_record(world: TeamWorld, index: int) -> dict:
    return {
        "gateway": "openrouter",
        "id": f"fuzz-{index}",
        "api_key": world.key.slug,
        "model": "openai/gpt-4o-mini",
        "created_at": "2026-01-15T10:00:00Z",
        "tokens_prompt": 10,
        "tokens_completion": 5,
        "cost": "0.000001",
    }


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False, places=14),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELDS = st.sampled_from(
    ["gateway", "id", "api_key", "model", "created_at", "tokens_prompt", "tokens_completion", "tokens_cached", "cost", "is_byok", "extra"]
)
# Per record: None (keep it valid), or a field to set to an odd value, or one to remove.
CHANGES = st.one_of(st.none(), st.tuples(st.just("set"), FIELDS, ODD_VALUES), st.tuples(st.just("drop"), FIELDS))


@given(changes=st.lists(CHANGES, min_size=1, max_size=12))
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ingest_writes_everything_or_nothing(world, changes):
    records = []
    for index, change in enumerate(changes):
        values = _valid_record(world, index)
        if change and change[0] == "set":
            values[change[1]] = change[2]
        elif change:
            values.pop(change[1], None)
        records.append(values)
    body = json.dumps({"generations": records}, default=str)
    before = generations_stored()

    response = world.client().post("/api/v1/generations/", body, content_type="application/json")

    assert response.status_code in (201, 400), response.content
    after = generations_stored()
    if response.status_code == 400:
        assert after == before
        assert all(error["index"] is None or 0 <= error["index"] < len(records) for error in response.json()["errors"])
    else:
        result = response.json(parse_float=Decimal)
        assert after[0] - before[0] == after[1] - before[1] == result["created"]
        assert result["created"] + result["duplicates"] + len(result["conflicts"]) >= len({r["id"] for r in records})
