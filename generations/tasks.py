"""Celery tasks of the generations app."""

from celery import shared_task

from generations.partitions import partitions_ensure


@shared_task
def ensure_month_partitions() -> list[str]:
    """Daily: this month's and the coming months' partitions exist (PostgreSQL); idempotent."""
    return partitions_ensure()
