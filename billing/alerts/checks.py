"""What runs after spend changes (ingest, reconciliation): the budget and dispute-rate checks."""

from datetime import date

from billing.alerts.budgets import budget_alerts_check
from billing.alerts.dispute_rate import dispute_rate_alerts_check
from billing.alerts.models import Alert


def spend_change_alerts_check(*, api_key_ids: list[int], team_ids: list[int], months: list[date]) -> list[Alert]:
    """Raise whatever budget and dispute-rate alerts the changed spend now calls for."""
    return budget_alerts_check(api_key_ids=api_key_ids, team_ids=team_ids, months=months) + dispute_rate_alerts_check(
        team_ids=team_ids
    )


def spend_changed_receiver(*, api_key_ids: list[int], team_ids: list[int], months: list[date], **kwargs) -> None:
    """generations.signals.spend_changed, sent after the roll-ups' transaction commits: queue the
    check. Never raises: ingest and reconciliation must not wait for, or fail on, alerts."""
    from billing.tasks.alerts import check_spend_alerts

    check_spend_alerts.delay(sorted(api_key_ids), sorted(team_ids), sorted(f"{month:%Y-%m}" for month in months))
