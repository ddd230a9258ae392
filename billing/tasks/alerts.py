"""Celery tasks for alerts: checks after spend changes, deliveries (with retries), daily digests."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from billing.alerts.checks import spend_change_alerts_check
from billing.alerts.delivery import DeliveryRetryable, alert_delivery_send
from billing.alerts.digests import digests_send
from billing.invoicing.periods import period_parse

MAX_DELIVERY_RETRIES = 5


@shared_task(acks_late=True)
def check_spend_alerts(api_key_ids: list[int], team_ids: list[int], months: list[str]) -> int:
    """Budget and dispute-rate alerts after roll-ups changed; safe to run twice."""
    months_parsed = [period_parse(month) for month in months]
    return len(spend_change_alerts_check(api_key_ids=api_key_ids, team_ids=team_ids, months=months_parsed))


@shared_task(bind=True, acks_late=True, max_retries=MAX_DELIVERY_RETRIES)
def deliver_alert(self, delivery_id: int) -> str:
    """Send one mail or webhook post; 5xx and network errors retry with exponential backoff."""
    try:
        return alert_delivery_send(delivery_id=delivery_id, last_attempt=self.request.retries >= self.max_retries).status
    except DeliveryRetryable as error:
        raise self.retry(exc=error, countdown=min(15 * 2**self.request.retries, 900)) from error


@shared_task
def send_daily_digests() -> int:
    """Daily: the digests of yesterday's (UTC) new findings."""
    return len(digests_send(day=timezone.now().date() - timedelta(days=1)))
