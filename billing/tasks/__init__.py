"""Billing's Celery tasks, one module per area; importing them here registers them with Celery."""

from billing.tasks import alerts, coverage, invoicing, prices, raw_bodies, reconciliation  # noqa: F401
