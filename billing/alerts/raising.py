"""Raising an alert: record it once, then queue its mail and webhook after the commit."""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from accounts.models import ApiKey, Gateway, Team
from billing.alerts.models import Alert, AlertDelivery

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Audience:
    """Who an alert goes to: addresses to mail, and the team whose webhook (if any) gets it."""

    emails: list[str]
    webhook_team: Team | None = None


def alert_raise(
    *,
    kind: str,
    scope: str,
    window: str,
    subject: str,
    message: str,
    audience: Audience,
    threshold: int = 0,
    team: Team | None = None,
    api_key: ApiKey | None = None,
    gateway: Gateway | None = None,
) -> Alert | None:
    """Record the alert and its deliveries, unless it was raised before (then None).

    The unique (kind, scope, window, threshold) constraint is what makes an alert happen once:
    two workers racing to raise it both try, one insert wins, the other gets None. Deliveries
    are queued with transaction.on_commit, so an alert whose transaction rolls back sends nothing.
    """
    webhook_url = audience.webhook_team.alert_webhook_url if audience.webhook_team else ""
    if not audience.emails and not webhook_url:
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                scope=scope,
                window=window,
                threshold=threshold,
                team=team,
                api_key=api_key,
                gateway=gateway,
                subject=_one_line(subject)[:300],
                message=message,
            )
            deliveries = []
            if audience.emails:
                deliveries.append(
                    AlertDelivery(alert=alert, channel=AlertDelivery.Channel.EMAIL, recipients=", ".join(audience.emails))
                )
            if webhook_url:
                deliveries.append(
                    AlertDelivery(
                        alert=alert, channel=AlertDelivery.Channel.WEBHOOK, recipients=urlsplit(webhook_url).hostname or ""
                    )
                )
            AlertDelivery.objects.bulk_create(deliveries)
    except IntegrityError:
        return None
    logger.info("Alert raised: %s", alert.subject, extra={"alert_kind": kind, "team": team.slug if team else None})
    for delivery in deliveries:
        transaction.on_commit(lambda delivery_id=delivery.pk: _queue_delivery(delivery_id), robust=True)
    return alert


def _queue_delivery(delivery_id: int) -> None:
    from billing.tasks.alerts import deliver_alert

    deliver_alert.delay(delivery_id)


def _one_line(text: str) -> str:
    # Mail subjects with a line break are refused (header injection); names may contain anything.
    return " ".join(text.split())
