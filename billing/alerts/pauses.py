"""Prompt alerts when lookups stop: a gateway paused (402, refused credential) or a key (401)."""

from django.conf import settings
from django.urls import reverse

from accounts.models import ApiKey, Gateway, Team
from billing.alerts.models import Alert, AlertKind
from billing.alerts.raising import Audience, alert_raise
from billing.alerts.recipients import finance_emails, team_admin_emails

CLEAR_IT = "Lookups resume once the pause is cleared in the admin"


def gateway_paused_alert(*, gateway: Gateway) -> list[Alert]:
    """Tell finance, and the admins (and webhook) of every team with an active key on the
    gateway, that its lookups are paused. Once per pause (its start is the window)."""
    link = settings.TALLY_BASE_URL + reverse("admin:accounts_gateway_change", args=[gateway.pk])
    subject = f"Gateway {gateway.name} paused: reconciliation stopped"
    message = f"Lookups on gateway {gateway.name} ({gateway.slug}) are paused: {gateway.pause_reason}\n\n{CLEAR_IT}: {link}"
    window = gateway.paused_at.isoformat() if gateway.paused_at else ""
    teams = Team.objects.filter(api_keys__gateway=gateway, api_keys__revoked_at__isnull=True).distinct()
    audiences = [(f"gateway:{gateway.pk}", Audience(emails=finance_emails()), None)] + [
        (f"gateway:{gateway.pk}:team:{team.pk}", Audience(emails=team_admin_emails(team), webhook_team=team), team)
        for team in teams
    ]
    raised = [
        alert_raise(
            kind=AlertKind.GATEWAY_PAUSED,
            scope=scope,
            window=window,
            subject=subject,
            message=message,
            audience=audience,
            team=team,
            gateway=gateway,
        )
        for scope, audience, team in audiences
    ]
    return [alert for alert in raised if alert]


def api_key_paused_alert(*, api_key: ApiKey) -> Alert | None:
    """Tell the key's team admins (and webhook) that lookups with the key are paused."""
    team = api_key.team
    link = settings.TALLY_BASE_URL + reverse("spend:key", args=[api_key.slug])
    return alert_raise(
        kind=AlertKind.KEY_PAUSED,
        scope=f"key:{api_key.pk}",
        window=api_key.paused_at.isoformat() if api_key.paused_at else "",
        subject=f"Key {api_key.name} ({team.name}) paused: its generations are not being verified",
        message=f"The gateway refused key {api_key.name} ({api_key.slug}): {api_key.pause_reason}\n\n"
        f"{CLEAR_IT}. {link}",
        audience=Audience(emails=team_admin_emails(team), webhook_team=team),
        team=team,
        api_key=api_key,
    )
