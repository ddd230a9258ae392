"""Signals generations sends for other apps to act on, without generations importing them."""

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that changed daily roll-ups commits, with the keys, teams and
# months (first days) whose spend changed. Billing's alerts listen (budgets, dispute rates).
spend_changed = Signal()


def spend_changed_on_commit(buckets: Iterable[tuple[int, date, str, int]]) -> None:
    """Announce, once the current transaction commits, the roll-up buckets it changed.
    A failing receiver is logged and never undoes or fails the write (robust)."""
    buckets = list(buckets)
    if not buckets:
        return
    api_key_ids = {api_key_id for api_key_id, _, _, _ in buckets}
    team_ids = {team_id for _, _, _, team_id in buckets}
    months = {day.replace(day=1) for _, day, _, _ in buckets}
    transaction.on_commit(
        lambda: spend_changed.send_robust(sender=None, api_key_ids=api_key_ids, team_ids=team_ids, months=months),
        robust=True,
    )
