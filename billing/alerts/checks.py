"""What runs after spend changes (ingest, reconciliation): the budget and dispute-rate checks."""

from datetime import date

from django.core.cache import cache
from django.utils import timezone

from billing.alerts.budgets import budget_alerts_check
from billing.alerts.dispute_rate import dispute_rate_alerts_check
from billing.alerts.models import Alert


def spend_change_alerts_check(*, api_key_ids: list[int], team_ids: list[int], months: list[date]) -> list[Alert]:
    """Raise whatever budget and dispute-rate alerts the changed spend now calls for."""
    raised = budget_alerts_check(api_key_ids=api_key_ids, team_ids=team_ids, months=months)
    return raised + dispute_rate_alerts_check(team_ids=_dispute_rate_due(team_ids))


def _dispute_rate_due(team_ids: list[int]) -> list[int]:
    # Every reconciliation batch changes spend; the hour's dispute rate needs looking at once a
    # minute per team, not once per batch (it counts the team's recent generations).
    minute = f"{timezone.now():%Y%m%d%H%M}"
    return [team_id for team_id in team_ids if cache.add(f"tally:dispute-rate-checked:{team_id}:{minute}", 1, 120)]


def spend_changed_receiver(*, api_key_ids: list[int], team_ids: list[int], months: list[date], **kwargs) -> None:
    """generations.signals.spend_changed, sent after the roll-ups' transaction commits: queue the
    check. Ingest and reconciliation never wait for the check itself."""
    from billing.tasks.alerts import check_spend_alerts

    check_spend_alerts.delay(sorted(api_key_ids), sorted(team_ids), sorted(f"{month:%Y-%m}" for month in months))
