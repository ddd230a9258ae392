"""Spend from the daily roll-ups grouped by several fields at once (invoices need key and model)."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, QuerySet, Sum

from billing.selectors import SpendRow
from generations.models import SPEND_FIELDS


def spend_rows_by(queryset: QuerySet, fields: tuple[str, ...]) -> list[SpendRow]:
    """One SpendRow per distinct combination of `fields` in a DailySpend queryset; its key is the
    tuple of their values. Groups are never empty, so no sum is NULL."""
    grouped = queryset.values(*fields).order_by(*fields).annotate(**{name: Sum(name) for name in SPEND_FIELDS})
    width = len(fields)
    return [
        SpendRow(key=tuple(values[:width]), **dict(zip(SPEND_FIELDS, values[width:], strict=True)))
        for values in grouped.values_list(*fields, *SPEND_FIELDS)
    ]


@dataclass(frozen=True, slots=True)
class Billable:
    """What a group of generations bills (SpendRow.amount and what is verified of it), with
    the counts an invoice line shows: the sums a line is made of, and nothing else."""

    generations: int
    tokens: int
    amount: Decimal
    verified_amount: Decimal


NOTHING_BILLABLE = Billable(0, 0, Decimal(0), Decimal(0))

# SpendRow.tokens, .amount and .verified_charged_cost, added up by the database: a month's
# roll-ups are a few hundred thousand rows, and four sums cost far less to compute and read than
# every roll-up field's. tests/billing/test_invoice_spend.py holds them to SpendRow's figures.
_BILLABLE_SUMS = {
    "billed_generations": Sum("generations"),
    "billed_tokens": Sum(F("tokens_prompt") + F("tokens_completion")),
    "billed_amount": Sum(F("verified_charged_cost") + (F("recorded_cost") - F("verified_recorded_cost"))),
    "billed_verified_amount": Sum("verified_charged_cost"),
}


def billable_by_group(
    queryset: QuerySet, group: str | None, fields: tuple[str, ...]
) -> dict[object, dict[tuple, Billable]]:
    """For every value of `group` (e.g. each team's; None: one group), what a DailySpend
    queryset bills per distinct combination of `fields`, in their order, from one grouped
    query read as plain rows."""
    grouped = (group, *fields) if group else fields
    rows = queryset.values(*grouped).order_by(*grouped).annotate(**_BILLABLE_SUMS)
    by_group: dict[object, dict[tuple, Billable]] = defaultdict(dict)
    width = len(fields)
    for values in rows.values_list(*grouped, *_BILLABLE_SUMS):
        key = values[0] if group else None
        values = values[1:] if group else values
        by_group[key][values[:width]] = Billable(*values[width:])
    return by_group


def billable_by(queryset: QuerySet, fields: tuple[str, ...]) -> dict[tuple, Billable]:
    """billable_by_group with no group: what the queryset bills per combination of `fields`."""
    return billable_by_group(queryset, None, fields).get(None, {})
