"""generations/scheduling.py: when a generation is looked up, whatever the backoff settings."""

import random
from datetime import UTC, datetime, timedelta

from generations import scheduling

CREATED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GRACE = 600


def lookups_before_missing(*, first_at: datetime, rng: random.Random) -> list[datetime]:
    """The lookup times of a generation that is never found, until the grace window has passed
    and it had its MISSING_MIN_LOOKUPS lookups."""
    times, now = [], first_at
    while True:
        times.append(now)
        if now >= CREATED + timedelta(seconds=GRACE) and len(times) >= scheduling.MISSING_MIN_LOOKUPS:
            return times
        now = scheduling.next_attempt_after_not_found(
            now=now, created_at=CREATED, grace_seconds=GRACE, lookups=len(times), rng=rng
        )


def test_three_lookups_are_spread_over_the_grace_window_whatever_the_backoff_base(settings):
    settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS = 86_400  # a base far longer than the window
    settings.TALLY_RECONCILE_BACKOFF_CAP_SECONDS = 86_400
    first = scheduling.first_lookup_at(created_at=CREATED, now=CREATED)
    for seed in range(20):
        times = lookups_before_missing(first_at=first, rng=random.Random(seed))
        inside = [moment for moment in times if moment < CREATED + timedelta(seconds=GRACE)]
        assert len(inside) >= scheduling.MISSING_MIN_LOOKUPS
        assert times[-1] <= CREATED + timedelta(seconds=GRACE + 1)


def test_a_generation_recorded_after_its_window_still_gets_its_lookups(settings):
    settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS = 30
    late = CREATED + timedelta(hours=3)
    times = lookups_before_missing(first_at=late, rng=random.Random(1))
    assert len(times) == scheduling.MISSING_MIN_LOOKUPS
    assert times[-1] - times[0] <= 2 * scheduling.LATE_LOOKUP_SPACING


def test_slow_rechecks_are_hourly_then_every_six_hours_then_daily_until_the_horizon(settings):
    settings.TALLY_RECHECK_HORIZON_DAYS = 30
    at = lambda age: scheduling.next_recheck_at(now=CREATED + age, created_at=CREATED, retention_days=None)  # noqa: E731
    assert at(timedelta(hours=2)) - (CREATED + timedelta(hours=2)) == timedelta(hours=1)
    assert at(timedelta(hours=12)) - (CREATED + timedelta(hours=12)) == timedelta(hours=6)
    assert at(timedelta(days=3)) - (CREATED + timedelta(days=3)) == timedelta(days=1)
    assert at(timedelta(days=29, hours=23)) == CREATED + timedelta(days=30)
    assert at(timedelta(days=30)) is None


def test_rechecks_stop_before_the_gateways_retention():
    last = scheduling.next_recheck_at(now=CREATED + timedelta(days=6, hours=22), created_at=CREATED, retention_days=7)
    assert last == CREATED + timedelta(days=7) - scheduling.BEFORE_RETENTION
    assert scheduling.next_recheck_at(now=CREATED + timedelta(days=7), created_at=CREATED, retention_days=7) is None
