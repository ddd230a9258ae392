"""End to end: PostgreSQL, Redis, a real Celery worker process, the gateway simulator over HTTP.

The test plays Celery beat (it sends the sweep every second instead of every minute); the worker
does everything else. Planted differences must all be found with the right kind, nothing else
found, nothing left pending, and every generation stored and counted once, also when the
worker is SIGKILLed in the middle of a batch and another one takes over.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import Discrepancy, DiscrepancyEvent
from billing.tasks.reconciliation import sweep_due_generations
from config.celery_app import app as celery_app
from generations.models import GatewayRecord, Generation
from accounts.models import ApiKey
from tests.billing.real_answers import FASTROUTER_KEY_HASH, plan_real_answers
from tests.billing.reconciliation_world import generations_store, plan_generations, rollups_match_generations, world_create

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


class Workers:
    """Starts real `celery worker` processes on the test database; stops them all at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, **extra_env: str) -> subprocess.Popen:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "TALLY_SECRETS_KEY": ",".join(settings.TALLY_SECRETS_KEYS),
            "SECRET_KEY": settings.SECRET_KEY,
            "TALLY_RECONCILE_BACKOFF_BASE_SECONDS": "0.5",
            "TALLY_RECONCILE_BACKOFF_CAP_SECONDS": "2",
            "TALLY_RECONCILE_LEASE_SECONDS": "20",
            "TALLY_RECONCILE_BATCH_SIZE": "25",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads", "--concurrency", "2",
            "--without-mingle", "--without-gossip", "--loglevel", "WARNING", "--hostname", f"h3-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def workers():
    celery_app.control.purge()  # messages left by an earlier run must not reach this database
    started = Workers()
    yield started
    started.stop_all()
    celery_app.control.purge()


def sweep_until_done(*, timeout: float, while_waiting=None) -> None:
    deadline = time.monotonic() + timeout
    while Generation.objects.pending().exists():
        assert time.monotonic() < deadline, f"{Generation.objects.pending().count()} generations still pending"
        sweep_due_generations.delay()
        if while_waiting:
            while_waiting()
        time.sleep(1)


def assert_reconciled_exactly_as_planned(planned, *, unreadable: int = 0) -> None:
    states = dict(Generation.objects.values_list("external_id", "state"))
    kinds: dict[str, set[str]] = {}
    for external_id, kind in Discrepancy.objects.values_list("generation__external_id", "kind"):
        kinds.setdefault(external_id, set()).add(kind)
    wrong = [
        (plan.external_id, plan.planted, states[plan.external_id], kinds.get(plan.external_id, set()))
        for plan in planned
        if (states[plan.external_id], kinds.get(plan.external_id, set())) != (plan.expected_state, plan.expected_kinds)
    ]
    assert wrong == []
    assert not Generation.objects.pending().exists()
    found = [plan for plan in planned if plan.expected_state not in ("missing", "expired")]
    # Unreadable answers are kept too (their raw body), for audit.
    assert GatewayRecord.objects.count() == len(found)
    assert GatewayRecord.objects.filter(served_model="", total_cost__isnull=True, credits_used__isnull=True,
                                        tokens_prompt__isnull=True).count() >= unreadable
    # Every settled generation knows its charge, except one whose answer could not be read.
    assert not (
        Generation.objects.filter(state__in=["verified", "disputed"], charged_cost__isnull=True)
        .exclude(discrepancies__kind="unreadable_record")
        .exists()
    )
    # Each discrepancy was opened once: one "open" event each, never a second one.
    assert DiscrepancyEvent.objects.filter(to_status="open").count() == Discrepancy.objects.count()
    assert rollups_match_generations() == []


def test_a_worker_reconciles_hundreds_of_generations_across_three_gateways(workers, gateway_simulator):
    gateway_simulator.configure(
        retention_seconds=7 * 24 * 3600, latency_ms=10, fault_rate=0.02, timeout_hold_seconds=0.2, seed=5
    )
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=120, concurrency=64)
    planned = plan_generations(world, count=300, plant_share=0.12, seed=42, now=timezone.now(), scripts=True)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    planted = Counter(plan.planted for plan in planned if plan.planted)
    assert len(planted) >= 12 and sum(1 for plan in planned if plan.spec and plan.spec.get("script")) >= 30

    workers.start()
    sweep_until_done(timeout=180)

    assert_reconciled_exactly_as_planned(planned)
    statuses = gateway_simulator.stats()["statuses"]
    assert {"404", "429", "500"} <= {str(status) for status in statuses}  # retries did happen


def test_a_worker_killed_mid_batch_is_replaced_and_everything_is_reconciled_once(workers, gateway_simulator):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600, latency_ms=400)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=120, concurrency=64)
    planned = plan_generations(world, count=200, plant_share=0.1, seed=43, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)

    first = workers.start(TALLY_RECONCILE_LEASE_SECONDS="6")
    deadline = time.monotonic() + 90
    while True:
        assert time.monotonic() < deadline, "the first worker never got going"
        sweep_due_generations.delay()
        time.sleep(0.3)
        done = Generation.objects.exclude(state="pending").count()
        if done >= 25 and gateway_simulator.stats()["in_flight"] > 0:
            break
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert Generation.objects.pending().exists(), "the worker finished before it could be killed"

    workers.start(TALLY_RECONCILE_LEASE_SECONDS="6")
    sweep_until_done(timeout=180)

    assert_reconciled_exactly_as_planned(planned)


def test_real_gateway_answers_are_reconciled_without_a_false_finding(workers, gateway_simulator):
    """A late record, an unreadable one, a zero-cost BYOK call, a response-cache hit and FastRouter
    key hashes that are not SHA-256 of the secret, among ordinary generations."""
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600, latency_ms=5)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=120, concurrency=16)
    now = timezone.now()
    planned = plan_generations(world, count=40, plant_share=0, seed=44, now=now, scripts=False)
    planned += plan_real_answers(world, now=now)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)

    workers.start(TALLY_RECONCILE_MAX_UNREADABLE_ATTEMPTS="4")
    sweep_until_done(timeout=180)

    assert_reconciled_exactly_as_planned(planned, unreadable=1)
    assert ApiKey.objects.get(pk=world.keys["fastrouter"].pk).gateway_key_hash == FASTROUTER_KEY_HASH
    late = Generation.objects.get(external_id="real-late")
    assert late.attempts == 3  # two 404s, then the record
    unreadable = Generation.objects.get(external_id="real-unreadable")
    assert unreadable.attempts == 4 and unreadable.next_attempt_at is not None  # re-checked slowly
    assert unreadable.gateway_record.raw.startswith('{"data": {"id": "real-unreadable"')
    cache_note = Discrepancy.objects.get(generation__external_id="real-cache-hit", kind="cache_hit")
    assert cache_note.severity == "info" and "real-late" in cache_note.detail
