"""When to look a generation up again.

Exponential backoff with full jitter (a random wait between 0 and base x 2^attempt, capped), so
that many generations failing together do not come back together. A gateway's Retry-After is a
floor. A 404 inside the grace window is retried no later than the end of the window, so a record
that never appears is declared missing soon after it.
"""

import random
from datetime import datetime, timedelta

from django.conf import settings

# Defaults; settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS / _CAP_SECONDS override them.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# Never sooner than this, so a burst of failures cannot spin.
BACKOFF_MINIMUM_SECONDS = 1.0
# Past the end of the grace window, so the retry sees a 404 as final.
AFTER_GRACE_SECONDS = 1.0


def backoff_seconds(*, attempts: int, floor: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed lookup (1 for the first failure)."""
    base = getattr(settings, "TALLY_RECONCILE_BACKOFF_BASE_SECONDS", BACKOFF_BASE_SECONDS)
    cap = getattr(settings, "TALLY_RECONCILE_BACKOFF_CAP_SECONDS", BACKOFF_CAP_SECONDS)
    ceiling = min(cap, base * 2 ** min(max(attempts - 1, 0), 32))
    wait = (rng or random).uniform(0, ceiling)
    return max(wait, floor or 0.0, BACKOFF_MINIMUM_SECONDS)


def next_attempt_after_failure(
    *, now: datetime, attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> datetime:
    """Next lookup after a 429 (its Retry-After honoured), a 5xx, a timeout or a bad payload."""
    return now + timedelta(seconds=backoff_seconds(attempts=attempts, floor=retry_after, rng=rng))


def next_attempt_after_not_found(
    *, now: datetime, attempts: int, grace_ends_at: datetime, rng: random.Random | None = None
) -> datetime:
    """Next lookup after a 404 inside the grace window: backoff, but no later than just after
    the window ends."""
    backoff = next_attempt_after_failure(now=now, attempts=attempts, rng=rng)
    return min(backoff, grace_ends_at + timedelta(seconds=AFTER_GRACE_SECONDS))

