"""A gateway down for a stretch (every lookup fails: 5xx, 429, resets, timeouts, garbage), then
back. Nothing may be marked missing because of the outage, each retry must wait as the backoff
schedule says (the gateway is not hammered: every request is counted), and the backlog must
drain once the gateway is back.

The test runs the batches itself, several times a second (far more often than beat would), so
that any generation retried before its time would be looked up too often and show in the count.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from generations.scheduling import BACKOFF_MINIMUM_SECONDS
from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from generations.models import Generation
from tests.billing.reconciliation_world import (
    generations_store,
    plan_generations,
    rollups_match_generations,
    world_create,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

OUTAGE_SECONDS = 8.0
SWEEP_EVERY_SECONDS = 0.2
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 4.0


def reconcile_due() -> None:
    for claim in generations_claim_due():
        generations_reconcile(claim=claim)


def backoff_ceiling(attempts: int) -> float:
    """The longest wait the schedule allows after the `attempts`-th failure."""
    return max(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)), BACKOFF_MINIMUM_SECONDS)


def lookups_by_id(simulator) -> Counter:
    return Counter(simulator.stats()["lookups"])


def test_an_outage_marks_nothing_missing_retries_on_schedule_and_the_backlog_drains(gateway_simulator, settings):
    settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS = BACKOFF_BASE_SECONDS
    settings.TALLY_RECONCILE_BACKOFF_CAP_SECONDS = BACKOFF_CAP_SECONDS
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600, fault_rate=1.0, timeout_hold_seconds=0.1, seed=11)
    # A 2-second grace window ends during the outage: a 404 now would be final, a 5xx must not be.
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=2, tag="outage")
    planned = plan_generations(world, count=60, plant_share=0, seed=12, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned])
    generations_store(world, planned)

    waits: list[tuple[int, float, float]] = []  # (attempt, seconds until the next one, slack)
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    passes = 0
    while time.monotonic() < outage_ends:
        before = dict(Generation.objects.values_list("pk", "attempts"))
        started = timezone.now()
        reconcile_due()
        slack = (timezone.now() - started).total_seconds()
        for pk, attempts, next_attempt_at in Generation.objects.values_list("pk", "attempts", "next_attempt_at"):
            if attempts > before[pk]:
                waits.append((attempts, (next_attempt_at - started).total_seconds(), slack))
        passes += 1
        time.sleep(SWEEP_EVERY_SECONDS)

    assert set(Generation.objects.values_list("state", flat=True)) == {"pending"}
    attempts_by_id = dict(Generation.objects.values_list("external_id", "attempts"))
    assert lookups_by_id(gateway_simulator) == Counter(attempts_by_id), "a lookup that is no attempt, or the reverse"
    assert waits and all(
        BACKOFF_MINIMUM_SECONDS <= wait <= backoff_ceiling(attempt) + slack for attempt, wait, slack in waits
    ), [wait for wait in waits if not BACKOFF_MINIMUM_SECONDS <= wait[1] <= backoff_ceiling(wait[0]) + wait[2]]
    # No hammering: at most one lookup per second of outage (the schedule's shortest wait) plus
    # the first, however often the sweep ran.
    most = OUTAGE_SECONDS / BACKOFF_MINIMUM_SECONDS + 1
    print(  # kept in the -s output for RELIABILITY.md
        f"\noutage: {len(planned)} generations, {passes} sweeps in {OUTAGE_SECONDS:.0f} s, "
        f"{sum(attempts_by_id.values())} lookups, at most {max(attempts_by_id.values())} per generation (allowed {most:.0f})"
    )
    assert max(attempts_by_id.values()) <= most

    gateway_simulator.configure(fault_rate=0.0)
    gateway_simulator.reset()
    deadline = time.monotonic() + BACKOFF_CAP_SECONDS * 3 + 10
    while Generation.objects.pending().exists():
        assert time.monotonic() < deadline, f"{Generation.objects.pending().count()} still pending after the outage"
        reconcile_due()
        time.sleep(SWEEP_EVERY_SECONDS)

    assert set(Generation.objects.values_list("state", flat=True)) == {"verified"}
    assert lookups_by_id(gateway_simulator) == Counter({plan.external_id: 1 for plan in planned})
    assert not Generation.objects.filter(discrepancies__isnull=False).exists()
    assert rollups_match_generations() == []
    assert Generation.objects.filter(reconciled_at__isnull=True).count() == 0
    assert all(plan.created_at + timedelta(seconds=2) < timezone.now() for plan in planned)
