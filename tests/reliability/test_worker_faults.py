"""Faults around a real Celery worker: a gateway failing 30% of lookups, Redis crashing and
coming back in the middle of a run, the worker's PostgreSQL connections terminated in the
middle of a batch. Each run must recover by itself and end with every generation reconciled
exactly once, with exactly the findings planted (none caused by a fault).

The test plays Celery beat (a sweep every few tenths of a second); the worker does the rest.
Workers and the checks come from the end-to-end reconciliation tests.
"""

import contextlib
import time

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from billing.tasks.reconciliation import sweep_due_generations
from generations.models import Generation
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create
from tests.billing.test_reconciliation_e2e import (  # noqa: F401 (workers is a fixture)
    assert_reconciled_exactly_as_planned,
    sweep_until_done,
    workers,
)
from tests.reliability.processes import PrivateRedis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SWEEP_TASK = "billing.tasks.reconciliation.sweep_due_generations"
WEEK_SECONDS = 7 * 24 * 3600


def planned_world(gateway_simulator, *, count: int, seed: int, **simulator_settings):
    gateway_simulator.configure(retention_seconds=WEEK_SECONDS, **simulator_settings)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=120, concurrency=64, tag=f"r{seed}")
    planned = plan_generations(world, count=count, plant_share=0.12, seed=seed, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    return planned


def done_count() -> int:
    return Generation.objects.exclude(state="pending").count()


def test_a_gateway_failing_30_percent_of_lookups_loses_nothing_and_invents_no_finding(workers, gateway_simulator):
    planned = planned_world(gateway_simulator, count=240, seed=61, fault_rate=0.3, timeout_hold_seconds=0.2, latency_ms=5)

    workers.start()
    sweep_until_done(timeout=240)

    assert_reconciled_exactly_as_planned(planned)
    statuses = gateway_simulator.stats()["statuses"]
    faults = {status: count for status, count in statuses.items() if status not in ("200", "404", "307")}
    print(f"\nfault mix: {len(planned)} generations, answers {statuses}")  # kept in the -s output for RELIABILITY.md
    assert {"500", "502", "429", "504", "reset"} <= set(faults), statuses
    assert sum(faults.values()) >= 0.2 * sum(statuses.values()), statuses


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


def test_a_redis_crash_in_the_middle_of_a_run_recovers_by_itself(workers, gateway_simulator, private_redis):
    """Redis holds the broker's queue, the unacknowledged batches and the gateway limits; it is
    killed (no persistence: all of that is lost) while batches are in flight, then restarted."""
    planned = planned_world(gateway_simulator, count=200, seed=62, latency_ms=500)
    beat = Celery("reliability-beat", broker=private_redis.url, set_as_current=False)

    def sweep() -> None:
        with contextlib.suppress(Exception):  # while Redis is down the sweep is lost, as beat's would be
            beat.send_task(SWEEP_TASK, retry=False)

    worker = workers.start(
        CELERY_BROKER_URL=private_redis.url, REDIS_URL=private_redis.url, TALLY_RECONCILE_LEASE_SECONDS="6"
    )
    deadline = time.monotonic() + 90
    while not (done_count() >= 25 and gateway_simulator.stats()["in_flight"] > 0):
        assert time.monotonic() < deadline, "the worker never got going"
        sweep()
        time.sleep(0.3)
    private_redis.kill()
    assert Generation.objects.pending().exists(), "the run finished before Redis could be killed"
    time.sleep(3)
    private_redis.start()

    deadline = time.monotonic() + 180
    while Generation.objects.pending().exists():
        assert time.monotonic() < deadline, f"{Generation.objects.pending().count()} generations still pending"
        sweep()
        time.sleep(1)

    assert worker.poll() is None, "the worker died with Redis instead of reconnecting"
    assert_reconciled_exactly_as_planned(planned)


def worker_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def terminate(pids: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest(%s::int[]) AS pid", [pids])
        return cursor.fetchone()[0]


def test_database_connections_dropped_in_the_middle_of_batches_recover_by_themselves(workers, gateway_simulator):
    planned = planned_world(gateway_simulator, count=200, seed=63, latency_ms=500)

    worker = workers.start(TALLY_RECONCILE_LEASE_SECONDS="6")
    terminated, rounds = 0, 0
    deadline = time.monotonic() + 120
    while rounds < 3 and Generation.objects.pending().exists():
        assert time.monotonic() < deadline, "the worker never got going"
        sweep_due_generations.delay()
        time.sleep(0.3)
        if gateway_simulator.stats()["in_flight"] > 0:  # a batch is waiting for its lookups
            killed = terminate(worker_backends())
            terminated += killed
            rounds += 1 if killed else 0
            time.sleep(1)
    assert terminated >= 1, "no worker connection was caught in the middle of a batch"
    assert Generation.objects.pending().exists(), "the run finished before the connections were dropped"

    sweep_until_done(timeout=180)

    assert worker.poll() is None
    assert_reconciled_exactly_as_planned(planned)
