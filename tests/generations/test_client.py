"""Batch lookups: concurrent within the gateway's limit, in order, one outcome per request."""

import asyncio
from contextlib import asynccontextmanager

import pytest

from generations.gateways.base import GatewayGenerationRecord, LookupRequest, NotFound, TransientFailure
from generations.gateways.client import GatewayConnection, lookup_batch
from tests.generations.gateway_helpers import KEY, lookup_batch_sync, spec_for


@pytest.mark.slow  # seconds on a quiet machine, half a minute on a busy one
def test_a_batch_of_1000_runs_64_lookups_at_once_and_never_more(gateway_simulator):
    gateway_simulator.configure(latency_ms=50, generate_unknown=True)
    connection = GatewayConnection(kind="openrouter", base_url=gateway_simulator.base_url("openrouter"), concurrency=64)
    requests = [LookupRequest(generation_id=f"gen-{index}", secret=KEY) for index in range(1000)]
    outcomes = lookup_batch_sync(connection, requests)
    stats = gateway_simulator.stats()
    assert stats["max_in_flight"] == 64
    assert stats["requests"]["openrouter"] == 1000
    assert [outcome.id for outcome in outcomes] == [request.generation_id for request in requests]


def test_outcomes_come_back_in_request_order_with_failures_in_place(gateway_simulator):
    gateway_simulator.add_records(
        [spec_for("fastrouter", "fr-a"), spec_for("fastrouter", "fr-b", script=["500"]), spec_for("fastrouter", "fr-c")]
    )
    connection = GatewayConnection(kind="fastrouter", base_url=gateway_simulator.base_url("fastrouter"))
    outcomes = lookup_batch_sync(
        connection, [LookupRequest(generation_id, KEY) for generation_id in ("fr-c", "fr-missing", "fr-b", "fr-a")]
    )
    assert [type(outcome) for outcome in outcomes] == [
        GatewayGenerationRecord,
        NotFound,
        TransientFailure,
        GatewayGenerationRecord,
    ]
    assert (outcomes[0].id, outcomes[3].id) == ("fr-c", "fr-a")


def test_every_request_is_made_inside_the_limiter(gateway_simulator):
    gateway_simulator.configure(generate_unknown=True, latency_ms=20)
    inside = 0
    most_inside = 0
    entered = 0

    @asynccontextmanager
    async def one_at_a_time_pair():
        nonlocal inside, most_inside, entered
        while inside >= 2:
            await asyncio.sleep(0.001)
        inside += 1
        entered += 1
        most_inside = max(most_inside, inside)
        try:
            yield
        finally:
            inside -= 1

    connection = GatewayConnection(kind="kushrouter", base_url=gateway_simulator.base_url("kushrouter"), concurrency=16)
    outcomes = lookup_batch_sync(
        connection, [LookupRequest(f"k-{index}", KEY) for index in range(20)], limiter=one_at_a_time_pair
    )
    assert all(isinstance(outcome, GatewayGenerationRecord) for outcome in outcomes)
    assert entered == 20
    assert gateway_simulator.stats()["max_in_flight"] == most_inside == 2


def test_a_failing_limiter_is_a_transient_failure_not_a_crash(gateway_simulator):
    @asynccontextmanager
    async def broken_limiter():
        raise ConnectionError("redis is down")
        yield

    connection = GatewayConnection(kind="openrouter", base_url=gateway_simulator.base_url("openrouter"))
    [outcome] = lookup_batch_sync(connection, [LookupRequest("gen-1", KEY)], limiter=broken_limiter)
    assert isinstance(outcome, TransientFailure)
    assert "redis is down" in str(outcome)
    assert gateway_simulator.stats()["total_requests"] == 0


def test_the_sync_wrapper_works_from_inside_a_running_event_loop(gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-loop")])
    connection = GatewayConnection(kind="openrouter", base_url=gateway_simulator.base_url("openrouter"))

    async def caller():
        return lookup_batch_sync(connection, [LookupRequest("gen-loop", KEY)])

    [outcome] = asyncio.run(caller())
    assert isinstance(outcome, GatewayGenerationRecord)


def test_the_async_api_answers_an_empty_batch_with_nothing(gateway_simulator):
    connection = GatewayConnection(kind="openrouter", base_url=gateway_simulator.base_url("openrouter"))
    assert asyncio.run(lookup_batch(connection, [])) == []


def test_a_connection_is_built_from_a_gateways_settings():
    class Gateway:  # the attributes accounts.models.Gateway has
        kind = "kushrouter"
        base_url = "http://127.0.0.1:8001/kushrouter"
        concurrency = 8
        lookup_path = "/v1/generations"

    connection = GatewayConnection.of(Gateway())
    assert connection == GatewayConnection(
        kind="kushrouter", base_url=Gateway.base_url, concurrency=8, lookup_path="/v1/generations"
    )
