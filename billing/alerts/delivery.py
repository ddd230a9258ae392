"""Sending an alert's deliveries: one mail to all its recipients, or one webhook post.

The webhook is a Slack-compatible incoming webhook: `POST {"text": ...}` (Slack, Mattermost,
Rocket.Chat and Discord's /slack endpoint take this). Real HTTP through httpx, with a short
timeout, no redirects followed (a redirect could point inside our network), and the host
resolved and checked right before the request. 5xx, 429 and network errors are worth another
try (the task retries with backoff); any other answer fails the delivery for good. Every
failure is logged and kept on the delivery for the admin.
"""

import logging

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from accounts.webhooks import webhook_host_addresses_allowed
from billing.alerts.models import AlertDelivery
from operations import events

logger = logging.getLogger(__name__)


class DeliveryRetryable(Exception):
    """A delivery failed in a way worth trying again (5xx, 429, timeout, connection refused)."""


class DeliveryFailed(Exception):
    """A delivery failed for good (4xx, a refused URL, no webhook any more)."""


def alert_delivery_send(*, delivery_id: int, last_attempt: bool = False) -> AlertDelivery:
    """Send one delivery unless it was sent already (a redelivered task sends nothing twice).
    Raises DeliveryRetryable when another attempt may succeed and this is not the last one."""
    delivery = AlertDelivery.objects.select_related("alert", "alert__team").get(pk=delivery_id)
    if delivery.status != AlertDelivery.Status.PENDING:
        return delivery
    AlertDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    try:
        status = _send(delivery)
    except (DeliveryRetryable, DeliveryFailed) as error:
        final = last_attempt or isinstance(error, DeliveryFailed)
        _record_failure(delivery, error, final=final)
        if not final:
            raise
        return delivery
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=AlertDelivery.Status.SENT, sent_at=timezone.now(), response_status=status, last_error=""
    )
    events.count(events.ALERTS_SENT, kind=delivery.alert.kind, channel=delivery.channel, outcome="sent")
    delivery.refresh_from_db()
    return delivery


def _send(delivery: AlertDelivery) -> int | None:
    if delivery.channel == AlertDelivery.Channel.EMAIL:
        return _send_mail(delivery)
    return _post_webhook(delivery)


def _send_mail(delivery: AlertDelivery) -> None:
    alert = delivery.alert
    recipients = [address.strip() for address in delivery.recipients.split(",") if address.strip()]
    try:
        EmailMessage(subject=alert.subject, body=alert.message, to=recipients).send()
    except Exception as error:  # SMTP servers fail in many ways; all of them are worth a retry
        raise DeliveryRetryable(f"mail not sent: {type(error).__name__}: {error}") from error
    return None


def _post_webhook(delivery: AlertDelivery) -> int:
    alert = delivery.alert
    url = alert.team.alert_webhook_url if alert.team else ""
    if not url:
        raise DeliveryFailed("the team has no webhook URL any more")
    try:
        webhook_host_addresses_allowed(url)
    except ValidationError as error:
        raise DeliveryFailed(" ".join(error.messages)) from error
    text = slack_escaped(f"{alert.subject}\n{alert.message}")
    try:
        response = httpx.post(
            url, json={"text": text}, timeout=settings.TALLY_WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False
        )
    except httpx.HTTPError as error:
        raise DeliveryRetryable(f"webhook not reached: {type(error).__name__}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryRetryable(f"webhook answered {response.status_code}")
    if response.status_code >= 300:
        raise DeliveryFailed(f"webhook answered {response.status_code}")
    return response.status_code


def slack_escaped(text: str) -> str:
    """Text for Slack's mrkdwn: &, < and > escaped, so a hostile key name cannot mention
    @channel (`<!channel>`) or dress up a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _record_failure(delivery: AlertDelivery, error: Exception, *, final: bool) -> None:
    status = AlertDelivery.Status.FAILED if final else AlertDelivery.Status.PENDING
    AlertDelivery.objects.filter(pk=delivery.pk).update(status=status, last_error=str(error)[:500])
    log = logger.error if final else logger.warning
    log(
        "Alert %s %s delivery %s: %s",
        delivery.alert_id,
        delivery.channel,
        "failed" if final else "will be retried",
        error,
        extra={"alert_kind": delivery.alert.kind, "team": delivery.alert.team.slug if delivery.alert.team else None},
    )
    if final:
        events.count(events.ALERTS_SENT, kind=delivery.alert.kind, channel=delivery.channel, outcome="failed")
