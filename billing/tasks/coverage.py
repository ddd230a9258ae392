"""Celery tasks for coverage checks. Thin: ids in, one service call; rate limits and transient
gateway failures are retried with exponential backoff (Retry-After honoured), on the same
settings as lookups (TALLY_RECONCILE_BACKOFF_BASE_SECONDS and _CAP_SECONDS)."""

from datetime import date

from celery import shared_task
from django.conf import settings

from accounts.models import Gateway
from billing.coverage.services import CoverageNotCheckable, coverage_check_day, coverage_gateways, days_to_check
from generations.gateways.base import RateLimited, TransientFailure

MAX_RETRIES = 8


def retry_delay(*, retries: int, retry_after: float | None) -> float:
    """Seconds before the next try: doubling from the backoff base up to its cap, and at least
    what the gateway asked for (Retry-After)."""
    base = settings.TALLY_RECONCILE_BACKOFF_BASE_SECONDS
    backoff = min(base * 2**retries, settings.TALLY_RECONCILE_BACKOFF_CAP_SECONDS)
    return max(backoff, retry_after or 0)


@shared_task
def check_coverage_daily() -> int:
    """Daily, after the UTC day has settled: queue the days each checkable gateway needs."""
    queued = 0
    for gateway in coverage_gateways():
        for day in days_to_check(gateway=gateway):
            check_gateway_day.delay(gateway.pk, day.isoformat())
            queued += 1
    return queued


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def check_gateway_day(self, gateway_id: int, day: str) -> str:
    """Check one gateway's UTC day; safe to run twice (a re-run updates, never duplicates)."""
    gateway = Gateway.objects.get(pk=gateway_id)
    try:
        return coverage_check_day(gateway=gateway, day=date.fromisoformat(day)).summary()
    except CoverageNotCheckable as error:
        return str(error)
    except (RateLimited, TransientFailure) as error:
        delay = retry_delay(retries=self.request.retries, retry_after=getattr(error, "retry_after", None))
        raise self.retry(exc=error, countdown=delay) from error


__all__ = ["check_coverage_daily", "check_gateway_day", "retry_delay"]
