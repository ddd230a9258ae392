"""Late usage: spend of a finalized month that its invoice did not bill, carried to the next draft.

A finalized invoice never changes, but its month's roll-ups still can: a generation may be
posted after month-end, or a generation billed provisionally at its recorded cost may be
verified later at the gateway's figure. Nothing of that is lost. For every finalized month,
what the team owes per (key, model) is what the roll-ups say now; what it was billed is the
finalized invoice's usage line plus the late-usage lines already on finalized invoices. The
difference is billed as one late-usage line per (key, model) on the team's *next draft*: the
earliest draft of a later month. The line names the month it belongs to.

Comparing roll-ups with what was billed, rather than marking generations as they arrive, cannot
miss a generation that was being posted while the month was being finalized.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from billing.invoicing.periods import period_next
from billing.invoicing.spend import NOTHING_BILLABLE, Billable, billable_by
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from generations.models import DailySpend

Bucket = tuple[date, int, str]  # billed month, api key id, model


@dataclass(frozen=True)
class LateUsage:
    """What a finalized month still owes for one (key, model)."""

    period: date
    api_key_id: int
    model: str
    generations: int
    tokens: int
    amount_exact: Decimal
    verified_amount_exact: Decimal


def carried_periods(*, invoices: list[Invoice]) -> dict[int, set[date]]:
    """For each draft, by id: the team's finalized months whose next draft it is (the earliest
    live draft of a later month). Late usage and decisions of those months land on it."""
    drafts = {invoice.pk: invoice for invoice in invoices}
    result: dict[int, set[date]] = {pk: set() for pk in drafts}
    live = (
        Invoice.objects.filter(team_id__in={invoice.team_id for invoice in invoices})
        .exclude(status=InvoiceStatus.VOID)
        .values_list("team_id", "pk", "period", "status")
    )
    by_team: dict[int, list[tuple[date, int, str]]] = defaultdict(list)
    for team_id, pk, period, status in live:
        by_team[team_id].append((period, pk, status))
    for rows in by_team.values():
        rows.sort()
        for index, (period, _, status) in enumerate(rows):
            if status != InvoiceStatus.FINALIZED:
                continue
            next_draft = next((pk for later, pk, state in rows[index + 1 :] if state == InvoiceStatus.DRAFT), None)
            if next_draft in result:
                result[next_draft].add(period)
    return result


def late_usage_for_drafts(
    *, invoices: list[Invoice], carried: dict[int, set[date]] | None = None
) -> dict[int, list[LateUsage]]:
    """The late usage each draft carries, by invoice id (see the module docstring)."""
    if carried is None:
        carried = carried_periods(invoices=invoices)
    result: dict[int, list[LateUsage]] = {invoice.pk: [] for invoice in invoices}
    wanted = {(invoice.team_id, period): invoice.pk for invoice in invoices for period in carried[invoice.pk]}
    if not wanted:
        return result
    owed = _owed(wanted)
    billed = _billed(wanted)
    for (team_id, period, api_key_id, model), now in sorted(owed.items(), key=lambda item: item[0]):
        before = billed.get((team_id, period, api_key_id, model), NOTHING_BILLABLE)
        late = LateUsage(
            period=period,
            api_key_id=api_key_id,
            model=model,
            generations=now.generations - before.generations,
            tokens=now.tokens - before.tokens,
            amount_exact=now.amount - before.amount,
            verified_amount_exact=now.verified_amount - before.verified_amount,
        )
        if late.generations or late.amount_exact:
            result[wanted[(team_id, period)]].append(late)
    return result


def _months_filter(wanted: dict[tuple[int, date], int], *, team: str, day: str | None, period: str | None) -> Q:
    by_period: dict[date, set[int]] = defaultdict(set)
    for team_id, month in wanted:
        by_period[month].add(team_id)
    condition = Q(pk__in=[])
    for month, team_ids in by_period.items():
        if day is not None:
            condition |= Q(**{f"{team}__in": team_ids, f"{day}__gte": month, f"{day}__lt": period_next(month)})
        else:
            condition |= Q(**{f"{team}__in": team_ids, period: month})
    return condition


def _owed(wanted: dict[tuple[int, date], int]) -> dict[tuple, Billable]:
    """What the roll-ups say the months owe now, per (team, month, key, model)."""
    month = DailySpend.objects.filter(_months_filter(wanted, team="team_id", day="day", period=None))
    owed = billable_by(month.annotate(month=TruncMonth("day")), ("team_id", "month", "api_key_id", "model"))
    return {key: billable for key, billable in owed.items() if billable.generations}


def _billed(wanted: dict[tuple[int, date], int]) -> dict[tuple, Billable]:
    """What finalized invoices billed for the months, per (team, month, key, model): the month's
    own usage lines and the late-usage lines that named it."""
    finalized = InvoiceLine.objects.filter(invoice__status=InvoiceStatus.FINALIZED)
    own = finalized.filter(
        _months_filter(wanted, team="invoice__team_id", day=None, period="invoice__period"),
        kind=InvoiceLine.Kind.USAGE,
    )
    late = finalized.filter(
        _months_filter(wanted, team="invoice__team_id", day=None, period="usage_period"),
        kind=InvoiceLine.Kind.LATE_USAGE,
    )
    totals: dict[tuple, Billable] = {}
    for lines, period_field in ((own, "invoice__period"), (late, "usage_period")):
        for row in _line_sums(lines, period_field):
            key = (row.pop("invoice__team_id"), row.pop(period_field), row.pop("api_key_id"), row.pop("model"))
            previous = totals.get(key, NOTHING_BILLABLE)
            totals[key] = Billable(
                previous.generations + row["generations"],
                previous.tokens + row["tokens"],
                previous.amount + row["amount_exact"],
                previous.verified_amount + row["verified_amount"],
            )
    return totals


def _line_sums(lines: QuerySet, period_field: str):
    fields = ("invoice__team_id", period_field, "api_key_id", "model")
    return (
        lines.values(*fields)
        .order_by(*fields)
        .annotate(
            generations=Sum("generations"),
            tokens=Sum("tokens"),
            amount_exact=Sum("amount_exact"),
            verified_amount=Sum("verified_amount"),
        )
    )
