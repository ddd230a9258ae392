"""How large an amount Tally can hold, derived from its columns rather than written down.

Every amount Tally sums lands in a column of fixed precision: the daily roll-ups and an invoice
line's exact amount (`money_field`), an invoice line's rounded amount, an invoice's subtotal,
markup and total (cents). Ingest refuses what would not fit (generations/ingest.py), so that no
later sum overflows:

- one team's recorded cost in one calendar month is at most `team_month_cost_limit()`; every
  roll-up bucket and every invoice line of the month is part of that, so each fits;
- an invoice bills its own month and the late usage of earlier finalized months; the limit
  leaves room for `MONTHS_AN_INVOICE_HOLDS` months at the limit, plus the largest markup a team
  can have (the invoice_markup column's largest value);
- a single generation's cost is at most the monthly limit too.

Drafting checks every figure against its column as well (`invoice_figures_fit`), so an invoice
that still would not fit (say, years of late usage at the limit) fails for its team alone, with
the reason shown to finance, and never with a database overflow.
"""

from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from accounts.models import Team
from billing.invoicing.periods import period_next
from billing.models import Invoice, InvoiceLine
from generations.models import DailySpend

# An invoice has room for its own month and eleven months of late usage, each at the limit.
MONTHS_AN_INVOICE_HOLDS = 12


def column_capacity(field: models.DecimalField) -> Decimal:
    """The largest absolute value a decimal column stores."""
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** -field.decimal_places


def fits(field: models.DecimalField, value: Decimal) -> bool:
    return abs(value) <= column_capacity(field)


def team_month_cost_limit() -> Decimal:
    """The most one team's generations of one month may cost, in USD: a power of ten, so that
    the message a client gets is readable."""
    money = min(
        column_capacity(DailySpend._meta.get_field("recorded_cost")),
        column_capacity(InvoiceLine._meta.get_field("amount_exact")),
        column_capacity(InvoiceLine._meta.get_field("amount")),
    )
    largest_markup = column_capacity(Team._meta.get_field("invoice_markup"))
    invoice = column_capacity(Invoice._meta.get_field("total")) / ((1 + largest_markup) * MONTHS_AN_INVOICE_HOLDS)
    limit = min(money, invoice)
    return Decimal(10) ** (limit.adjusted())


def invoice_figures_fit(invoice, lines) -> str:
    """Empty when the invoice's figures and its lines' fit their columns, else what does not."""
    for line in lines:
        for name in ("amount_exact", "amount", "verified_amount"):
            if not fits(InvoiceLine._meta.get_field(name), getattr(line, name)):
                return f"the line {line.description!r} ({name} {getattr(line, name)}) is too large to store"
    for name in ("subtotal", "markup", "total", "verified_amount", "usage_amount"):
        if not fits(Invoice._meta.get_field(name), getattr(invoice, name)):
            return f"its {name} ({getattr(invoice, name)}) is too large to store"
    return ""


def team_months_over_limit(team_months: set[tuple[int, date]]) -> list[tuple[int, date, Decimal]]:
    """The (team id, month, recorded cost) of the given team-months whose recorded cost in the
    roll-ups is above team_month_cost_limit(). Ingest asks after adding its generations to the
    roll-ups, inside its transaction, so what it sees includes them."""
    if not team_months:
        return []
    limit = team_month_cost_limit()
    condition = Q(pk__in=[])
    for team_id, month in team_months:
        condition |= Q(team_id=team_id, day__gte=month, day__lt=period_next(month))
    rows = (
        DailySpend.objects.filter(condition)
        .annotate(month=TruncMonth("day"))
        .values("team_id", "month")
        .order_by("team_id", "month")
        .annotate(recorded=Sum("recorded_cost"))
    )
    return [(row["team_id"], row["month"], row["recorded"]) for row in rows if row["recorded"] > limit]
