"""Every error a gateway can answer becomes its typed GatewayError, for each adapter."""

from datetime import datetime, timedelta, timezone

import pytest

from generations.gateways.base import (
    BadPayload,
    GatewayGenerationRecord,
    LookupRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    TransientFailure,
    Unauthorised,
)
from generations.gateways.client import GatewayConnection
from tests.generations.gateway_helpers import KINDS, lookup_batch_sync, lookup_one, spec_for

SCRIPTED = [
    ("404", NotFound),
    ("401", Unauthorised),
    ("403", Unauthorised),
    ("402", PaymentRequired),
    ("429", RateLimited),
    ("500", TransientFailure),
    ("502", TransientFailure),
    ("503", TransientFailure),
    ("524", TransientFailure),
    ("529", TransientFailure),
    ("reset", TransientFailure),
    ("malformed", BadPayload),
    ("truncated", BadPayload),
    ("huge", BadPayload),
    ("huge_stream", BadPayload),
    ("418", BadPayload),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step, error", SCRIPTED)
def test_each_failure_is_its_typed_error_and_the_next_lookup_succeeds(gateway_simulator, kind, step, error):
    gateway_simulator.add_records([spec_for(kind, "gen-flaky", script=[step])])
    outcome = lookup_one(gateway_simulator, kind, "gen-flaky")
    assert type(outcome) is error, outcome
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-flaky"), GatewayGenerationRecord)


@pytest.mark.parametrize("kind", KINDS)
def test_rate_limited_carries_the_wait_in_seconds(gateway_simulator, kind):
    gateway_simulator.add_records([spec_for(kind, "gen-busy", script=["429:17"])])
    outcome = lookup_one(gateway_simulator, kind, "gen-busy")
    assert isinstance(outcome, RateLimited)
    assert outcome.retry_after == 17


@pytest.mark.parametrize("kind", KINDS)
def test_rate_limited_carries_the_wait_given_as_an_http_date(gateway_simulator, kind):
    gateway_simulator.add_records([spec_for(kind, "gen-busy", script=["429@30"])])
    outcome = lookup_one(gateway_simulator, kind, "gen-busy")
    assert isinstance(outcome, RateLimited)
    assert 27 <= outcome.retry_after <= 31


@pytest.mark.parametrize("kind", KINDS)
def test_a_gateway_that_does_not_answer_in_time_is_transient(gateway_simulator, kind):
    gateway_simulator.configure(timeout_hold_seconds=3)
    gateway_simulator.add_records([spec_for(kind, "gen-slow", script=["timeout"])])
    outcome = lookup_one(gateway_simulator, kind, "gen-slow", timeout=0.3)
    assert isinstance(outcome, TransientFailure)
    assert "timed out" in str(outcome)


@pytest.mark.parametrize("kind", KINDS)
def test_a_gateway_that_is_not_there_is_transient(kind):
    outcome = lookup_one(None, kind, "gen-x", base_url=f"http://127.0.0.1:1/{kind}")
    assert isinstance(outcome, TransientFailure)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_id_is_not_found(gateway_simulator, kind):
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-never-made"), NotFound)


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_is_not_found_until_the_gateway_has_it(gateway_simulator, kind):
    gateway_simulator.configure(not_found_seconds=60)
    just_now = datetime.now(timezone.utc).isoformat()
    earlier = (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()
    gateway_simulator.add_records([spec_for(kind, "gen-new", created_at=just_now), spec_for(kind, "gen-old", created_at=earlier)])
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-new"), NotFound)
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-old"), GatewayGenerationRecord)


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_past_retention_is_not_found(gateway_simulator, kind):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    eight_days_ago = (datetime.now(timezone.utc) - timedelta(days=8)).isoformat()
    gateway_simulator.add_records([spec_for(kind, "gen-expired", created_at=eight_days_ago), spec_for(kind, "gen-kept")])
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-expired"), NotFound)
    assert isinstance(lookup_one(gateway_simulator, kind, "gen-kept"), GatewayGenerationRecord)


@pytest.mark.parametrize("kind", KINDS)
def test_an_account_out_of_credits_is_payment_required(gateway_simulator, kind):
    gateway_simulator.add_records([spec_for(kind, "gen-paid")])
    gateway_simulator.configure(payment_required=[kind])
    outcome = lookup_one(gateway_simulator, kind, "gen-paid")
    assert isinstance(outcome, PaymentRequired) and outcome.permanent


@pytest.mark.parametrize("kind", KINDS)
def test_lookups_over_the_rate_limit_are_rate_limited(gateway_simulator, kind):
    gateway_simulator.add_records([spec_for(kind, f"gen-{index}") for index in range(30)])
    gateway_simulator.configure(rate_limit_per_second=3)
    connection = GatewayConnection(kind=kind, base_url=gateway_simulator.base_url(kind), concurrency=30)
    outcomes = lookup_batch_sync(connection, [LookupRequest(f"gen-{index}", "sk-test-key-a") for index in range(30)])
    limited = [outcome for outcome in outcomes if isinstance(outcome, RateLimited)]
    passed = len(outcomes) - len(limited)
    # The simulator counts per whole second of its clock: a batch spanning s seconds touches at most
    # floor(s) + 2 of those windows, and at most 3 pass in each.
    assert limited and passed <= 3 * (2 + gateway_simulator.stats()["seconds"])
    assert all(outcome.retry_after == 1 for outcome in limited)
