"""Budget alerts: a key's or a team's month-to-date spend past 80% and 100% of its budget."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from accounts.models import ApiKey, Team
from billing.alerts.models import Alert, AlertKind
from billing.alerts.raising import Audience, alert_raise
from billing.alerts.recipients import team_admin_emails
from billing.invoicing.periods import period_next
from billing.selectors import key_spend_total, team_spend_total

THRESHOLDS = (80, 100)


def budget_alerts_check(*, api_key_ids: Iterable[int], team_ids: Iterable[int], months: Iterable[date]) -> list[Alert]:
    """Raise the budget alerts that the spend of these keys and teams in these months (first
    days) now calls for. Spend is what the invoice bills (spend pages' amount). Safe to repeat:
    each (key or team, month, threshold) alerts once."""
    months = sorted(set(months))
    raised = []
    for api_key in ApiKey.objects.filter(pk__in=set(api_key_ids), monthly_budget__gt=0).select_related("team"):
        for month in months:
            spent = key_spend_total(api_key=api_key, start=month, end=period_next(month)).amount
            raised.extend(_crossed(budget=api_key.monthly_budget, spent=spent, month=month, owner=api_key))
    for team in Team.objects.filter(pk__in=set(team_ids), monthly_budget__gt=0):
        for month in months:
            spent = team_spend_total(team=team, start=month, end=period_next(month)).amount
            raised.extend(_crossed(budget=team.monthly_budget, spent=spent, month=month, owner=team))
    return raised


def _crossed(*, budget: Decimal, spent: Decimal, month: date, owner: ApiKey | Team) -> list[Alert]:
    raised = []
    for threshold in THRESHOLDS:
        if spent * 100 < budget * threshold:
            break
        alert = _raise(owner=owner, threshold=threshold, month=month, spent=spent, budget=budget)
        if alert:
            raised.append(alert)
    return raised


def _raise(*, owner: ApiKey | Team, threshold: int, month: date, spent: Decimal, budget: Decimal) -> Alert | None:
    is_key = isinstance(owner, ApiKey)
    team = owner.team if is_key else owner
    what = f"Key {owner.name} ({team.name})" if is_key else f"Team {team.name}"
    path = reverse("spend:key", args=[owner.slug]) if is_key else reverse("spend:team", args=[team.slug])
    link = f"{settings.TALLY_BASE_URL}{path}?month={month:%Y-%m}"
    subject = f"{what} passed {threshold}% of its {month:%B %Y} budget"
    message = (
        f"{what} has spent {spent.quantize(Decimal('0.01'))} USD in {month:%B %Y}, "
        f"{(spent / budget * 100).quantize(Decimal('1'))}% of its monthly budget of {budget} USD.\n\n{link}"
    )
    return alert_raise(
        kind=AlertKind.KEY_BUDGET if is_key else AlertKind.TEAM_BUDGET,
        scope=f"key:{owner.pk}" if is_key else f"team:{team.pk}",
        window=f"{month:%Y-%m}",
        threshold=threshold,
        subject=subject,
        message=message,
        audience=Audience(emails=team_admin_emails(team), webhook_team=team),
        team=team,
        api_key=owner if is_key else None,
    )


def budget_alerts_of_key(*, api_key: ApiKey, month: date) -> list[int]:
    """The thresholds (percent) whose alert this key has had for the month, for the spend pages."""
    return sorted(
        Alert.objects.filter(kind=AlertKind.KEY_BUDGET, api_key=api_key, window=f"{month:%Y-%m}").values_list(
            "threshold", flat=True
        )
    )
