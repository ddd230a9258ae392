"""Celery tasks for invoices (monthly drafts, redrafts)."""

from celery import shared_task
from django.utils import timezone

from billing.invoicing.drafting import invoices_draft_period, invoices_redraft_open
from billing.invoicing.periods import period_previous


@shared_task
def draft_previous_month_invoices() -> int:
    """Monthly: draft every team's invoice for the month just ended (UTC)."""
    return len(invoices_draft_period(period=period_previous(timezone.now().date())))


@shared_task
def redraft_open_invoices() -> int:
    """Every few minutes: rebuild drafts as reconciliation proceeds."""
    return invoices_redraft_open()
