"""When to look a generation up: first, again after a failure, and again after it was settled as
missing or unreadable. The one home of a generation's schedule; pure functions of times.

- First lookup: FIRST_LOOKUP_DELAY after the call (gateway records appear a few seconds after
  the call returns; OpenRouter answers 404 before), never in the past.
- After a failure (429, 5xx, timeouts): exponential backoff with full jitter (a random wait
  between 0 and base x 2^attempt, capped), so that many generations failing together do not come
  back together. A gateway's Retry-After (or X-RateLimit-Reset) is a floor.
- After a 404 inside the grace window: at the next of MISSING_MIN_LOOKUPS checkpoints spread over
  the window (and no later than just after it), whatever the backoff base, so a generation is
  looked up at least three times over the window before it is declared missing.
- After missing or unreadable: slow re-checks (RECHECK_SCHEDULE: hours, then daily) until the
  gateway's retention or settings.TALLY_RECHECK_HORIZON_DAYS (30) pass, whichever comes first.
"""

import random
from datetime import datetime, timedelta

from django.conf import settings

# Never sooner than this, so a burst of failures cannot spin.
BACKOFF_MINIMUM_SECONDS = 1.0
FIRST_LOOKUP_DELAY = timedelta(seconds=5)
# Past the end of the grace window, so the retry sees a 404 as final.
AFTER_GRACE = timedelta(seconds=1)
# Lookups a generation gets before a 404 may make it missing.
MISSING_MIN_LOOKUPS = 3
# A generation recorded after its grace window has passed still gets MISSING_MIN_LOOKUPS lookups,
# this far apart.
LATE_LOOKUP_SPACING = timedelta(seconds=60)
# Slow re-checks of missing and unreadable generations: while a generation is younger than the
# first age, re-check it every first wait; and so on; past the last age, daily.
RECHECK_SCHEDULE = (
    (timedelta(hours=6), timedelta(hours=1)),
    (timedelta(days=1), timedelta(hours=6)),
)
RECHECK_DAILY = timedelta(days=1)
BEFORE_RETENTION = timedelta(hours=1)


def first_lookup_at(*, created_at: datetime, now: datetime) -> datetime:
    """When to look a newly recorded generation up for the first time."""
    return max(created_at + FIRST_LOOKUP_DELAY, now)


def backoff_seconds(*, attempts: int, floor: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed lookup (1 for the first failure)."""
    base, cap = settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS, settings.TALLY_RECONCILE_BACKOFF_CAP_SECONDS
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), 32))
    wait = (rng or random).uniform(0, ceiling)
    return max(wait, floor or 0.0, BACKOFF_MINIMUM_SECONDS)


def next_attempt_after_failure(
    *, now: datetime, attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> datetime:
    """Next lookup after a 429 (its Retry-After honoured), a 5xx, a timeout or a bad payload."""
    return now + timedelta(seconds=backoff_seconds(attempts=attempts, floor=retry_after, rng=rng))


def grace_ends_at(*, created_at: datetime, grace_seconds: int) -> datetime:
    return created_at + timedelta(seconds=grace_seconds)


def next_attempt_after_not_found(
    *, now: datetime, created_at: datetime, grace_seconds: int, lookups: int, rng: random.Random | None = None
) -> datetime:
    """Next lookup after the `lookups`-th lookup answered 404 and the generation is not missing yet.

    Inside the window: backoff, but no later than the next checkpoint (the window cut into
    MISSING_MIN_LOOKUPS parts, then just after its end). After the window (the generation came
    in late, or a worker was down): backoff, at most LATE_LOOKUP_SPACING apart, until it had its
    lookups."""
    ends = grace_ends_at(created_at=created_at, grace_seconds=grace_seconds)
    if now >= ends:
        return min(next_attempt_after_failure(now=now, attempts=lookups, rng=rng), now + LATE_LOOKUP_SPACING)
    step = timedelta(seconds=grace_seconds) / MISSING_MIN_LOOKUPS
    checkpoints = [created_at + step * index for index in range(1, MISSING_MIN_LOOKUPS)] + [ends + AFTER_GRACE]
    checkpoint = next(moment for moment in checkpoints if moment > now)
    backoff = next_attempt_after_failure(now=now, attempts=lookups, rng=rng)
    return min(backoff, checkpoint)


def recheck_horizon(*, created_at: datetime, retention_days: int | None) -> datetime:
    """The last moment a missing or unreadable generation is re-checked: the gateway's retention
    or the horizon (TALLY_RECHECK_HORIZON_DAYS), whichever comes first."""
    horizon = created_at + timedelta(days=settings.TALLY_RECHECK_HORIZON_DAYS)
    if retention_days is not None:
        # Stop just before the record is gone, so the last re-check does not turn it into expired.
        horizon = min(horizon, created_at + timedelta(days=retention_days) - BEFORE_RETENTION)
    return horizon


def next_recheck_at(*, now: datetime, created_at: datetime, retention_days: int | None) -> datetime | None:
    """When to re-check a generation settled as missing or unreadable: hourly in its first hours,
    then every few hours, then daily; None once the horizon has passed (the finding stands)."""
    horizon = recheck_horizon(created_at=created_at, retention_days=retention_days)
    if now >= horizon:
        return None
    age = now - created_at
    wait = next((wait for younger_than, wait in RECHECK_SCHEDULE if age < younger_than), RECHECK_DAILY)
    return min(now + wait, horizon)


def max_unreadable_attempts() -> int:
    return settings.TALLY_RECONCILE_MAX_UNREADABLE_ATTEMPTS
