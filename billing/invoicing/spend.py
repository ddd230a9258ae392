"""Spend from the daily roll-ups grouped by several fields at once (invoices need key and model)."""

from django.db.models import QuerySet, Sum

from billing.selectors import SpendRow
from generations.models import SPEND_FIELDS


def spend_rows_by(queryset: QuerySet, fields: tuple[str, ...]) -> list[SpendRow]:
    """One SpendRow per distinct combination of `fields` in a DailySpend queryset; its key is the
    tuple of their values. Groups are never empty, so no sum is NULL."""
    rows = queryset.values(*fields).order_by(*fields).annotate(**{name: Sum(name) for name in SPEND_FIELDS})
    return [SpendRow(key=tuple(row.pop(field) for field in fields), **row) for row in rows]
