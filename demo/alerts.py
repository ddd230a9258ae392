"""The demo's alert state: one key already past 80% of its budget this month, so the spend
pages show an alert and the worker's console mail shows what the team's admins were told.
No demo team has a webhook (nothing harmless to post to offline)."""

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from accounts.models import ApiKey
from billing.alerts.budgets import budget_alerts_check
from billing.invoicing.periods import period_next
from billing.selectors import key_spend_total

SHARE_OF_BUDGET_SPENT = Decimal("0.85")


def demo_key_near_its_budget(*, api_keys: list[ApiKey], now: datetime) -> None:
    """Give the key that spent most this month a budget its spend so far is 85% of, and raise the alert."""
    month = now.date().replace(day=1)
    spent, api_key = max(
        ((key_spend_total(api_key=api_key, start=month, end=period_next(month)).amount, api_key) for api_key in api_keys),
        key=lambda pair: pair[0],
    )
    if not spent:
        return
    # Rounded down to cents, so the share is at least 85% (more than 100% only for a few cents).
    api_key.monthly_budget = max((spent / SHARE_OF_BUDGET_SPENT).quantize(Decimal("0.01"), rounding=ROUND_DOWN), Decimal("0.01"))
    api_key.save(update_fields=["monthly_budget"])
    budget_alerts_check(api_key_ids=[api_key.pk], team_ids=[], months=[month])
