"""End to end: PostgreSQL, Redis, a real Celery worker process, the simulator over HTTP.

A day where one key made calls Tally never received yields exactly one unrecorded_spend
finding for that key and day, with the right delta; the key whose activity matches has none;
re-running changes nothing; a rate limit and a server error on the way are retried by the
worker; ingesting the missing calls and letting the daily job run closes the finding.
"""

import time

import pytest

from billing.coverage.models import CoverageCheck, KeyDayCoverage
from billing.coverage.writes import AGREE_NOTE
from billing.models import Discrepancy, DiscrepancyEvent
from billing.tasks.coverage import check_coverage_daily, check_gateway_day
from tests.billing.coverage_world import (
    LEAKY_POSTED,
    LEAKY_UNPOSTED,
    MANAGEMENT_KEY,
    STRANGER,
    TIDY_POSTED,
    UNRECORDED_DELTA,
    coverage_world_create,
    ingest,
    simulator_spec,
)
from tests.billing.test_reconciliation_e2e import workers  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(condition, *, timeout: float = 60, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def snapshot():
    findings = [
        (d.pk, d.api_key_id, d.day, d.model, d.kind, d.status, d.expected, d.actual, d.delta, d.updated_at)
        for d in Discrepancy.objects.order_by("pk")
    ]
    coverage = sorted(KeyDayCoverage.objects.values_list("api_key_id", "day", "status", "gateway_cost", "tally_cost"))
    return findings, coverage, DiscrepancyEvent.objects.count()


def test_a_worker_finds_unrecorded_spend_and_closes_it_after_late_ingest(workers, gateway_simulator):  # noqa: F811
    world = coverage_world_create(simulator_url=gateway_simulator.url)
    gateway_simulator.configure(
        management_keys=[MANAGEMENT_KEY], keys_page_size=2, scripts={"/api/v1/activity": ["429:1", "503"]}
    )
    calls = LEAKY_POSTED + LEAKY_UNPOSTED + TIDY_POSTED + STRANGER
    gateway_simulator.add_records([simulator_spec(world, call) for call in calls])
    ingest(world, LEAKY_POSTED + TIDY_POSTED)
    workers.start(TALLY_RECONCILE_BACKOFF_BASE_SECONDS="0.5", TALLY_RECONCILE_BACKOFF_CAP_SECONDS="2")

    check_gateway_day.delay(world.gateway.pk, world.day.isoformat())
    wait_for(lambda: KeyDayCoverage.objects.count() == 2, what="the first check")
    [finding] = Discrepancy.objects.all()
    assert (finding.kind, finding.api_key_id, finding.day, finding.delta) == (
        "unrecorded_spend", world.leaky.pk, world.day, UNRECORDED_DELTA,
    )  # fmt: skip
    assert finding.generation_id is None and finding.status == "open"
    assert dict(KeyDayCoverage.objects.values_list("api_key_id", "status")) == {
        world.leaky.pk: "differed",
        world.tidy.pk: "matched",
    }
    statuses = gateway_simulator.stats()["statuses"]
    assert {"429", "503"} <= set(statuses)  # both faults came, and the worker retried past them

    before = snapshot()
    checked_at = CoverageCheck.objects.get().checked_at
    check_gateway_day.delay(world.gateway.pk, world.day.isoformat())
    wait_for(lambda: CoverageCheck.objects.get().checked_at != checked_at, what="the re-run")
    assert snapshot() == before

    ingest(world, LEAKY_UNPOSTED)
    check_coverage_daily.delay()
    wait_for(lambda: Discrepancy.objects.get().status == "resolved", timeout=120, what="the finding to close")
    finding = Discrepancy.objects.get()
    assert (finding.status_reason, finding.status_changed_by_id) == (AGREE_NOTE, None)
    assert list(finding.events.values_list("to_status", flat=True)) == ["open", "resolved"]
    assert KeyDayCoverage.objects.get(api_key=world.leaky, day=world.day).status == "matched"
    assert Discrepancy.objects.count() == 1
