"""Celery task compacting old months' raw gateway bodies (billing/raw_retention.py)."""

from celery import shared_task

from billing.raw_retention import raw_bodies_compact


@shared_task
def compact_old_raw_bodies() -> dict[str, int | str]:
    """Monthly: compact settled months past TALLY_RAW_RETENTION_MONTHS; nothing if it is 0."""
    return raw_bodies_compact()
