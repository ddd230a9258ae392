"""Spend from the daily roll-ups grouped by several fields at once (invoices need key and model)."""

from collections import defaultdict

from django.db.models import QuerySet, Sum

from billing.selectors import SpendRow
from generations.models import SPEND_FIELDS


def spend_rows_by(queryset: QuerySet, fields: tuple[str, ...]) -> list[SpendRow]:
    """One SpendRow per distinct combination of `fields` in a DailySpend queryset; its key is the
    tuple of their values. Groups are never empty, so no sum is NULL."""
    return spend_rows_by_group(queryset, None, fields)[None]


def spend_rows_by_group(queryset: QuerySet, group: str | None, fields: tuple[str, ...]) -> dict[object, list[SpendRow]]:
    """spend_rows_by(queryset, fields) of every value of `group` (e.g. each team's), from one
    grouped query read as plain rows (a month of roll-ups groups to thousands)."""
    grouped = (group, *fields) if group else fields
    rows = queryset.values(*grouped).order_by(*grouped).annotate(**{name: Sum(name) for name in SPEND_FIELDS})
    by_group: dict[object, list[SpendRow]] = defaultdict(list)
    width = len(fields)
    for values in rows.values_list(*grouped, *SPEND_FIELDS):
        if group:
            key, values = values[0], values[1:]
        else:
            key = None
        by_group[key].append(SpendRow(key=tuple(values[:width]), **dict(zip(SPEND_FIELDS, values[width:], strict=True))))
    return by_group
