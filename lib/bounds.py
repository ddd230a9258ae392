"""How large an amount Tally can hold, derived from its columns' precision rather than written down.

Every amount Tally sums lands in a column of fixed precision (lib/constants.py, which the models'
fields are built from): the daily roll-ups and an invoice line's exact amount
(numeric(MONEY_DIGITS, MONEY_PLACES)), an invoice line's rounded amount and an invoice's
subtotal, markup and total (numeric(CENTS_DIGITS, CENTS_PLACES)). Ingest refuses what would not
fit (generations/ingest/month_limit.py), so that no later sum overflows:

- one team's recorded cost in one calendar month is at most `team_month_cost_limit()`; every
  roll-up bucket and every invoice line of the month is part of that, so each fits;
- an invoice bills its own month and the late usage of earlier finalized months; the limit
  leaves room for MONTHS_AN_INVOICE_HOLDS months at the limit, times the largest markup a team
  can have (the markup column's largest value);
- a single generation's cost is at most the monthly limit too.

Drafting checks every figure against its column again (billing/invoicing/bounds.py), so an
invoice that still would not fit fails for its team alone, with the reason shown to finance.
"""

from decimal import Decimal

from lib.constants import CENTS_DIGITS, CENTS_PLACES, MARKUP_DIGITS, MARKUP_PLACES, MONEY_DIGITS, MONEY_PLACES

# An invoice has room for its own month and eleven months of late usage, each at the limit.
MONTHS_AN_INVOICE_HOLDS = 12


def capacity(digits: int, places: int) -> Decimal:
    """The largest absolute value numeric(digits, places) stores."""
    return Decimal(10) ** (digits - places) - Decimal(10) ** -places


def column_capacity(field) -> Decimal:
    """The largest absolute value a DecimalField's column stores."""
    return capacity(field.max_digits, field.decimal_places)


def team_month_cost_limit() -> Decimal:
    """The most one team's generations of one month may cost, in USD: a power of ten, so that
    the message a client gets is readable."""
    money = min(capacity(MONEY_DIGITS, MONEY_PLACES), capacity(CENTS_DIGITS, CENTS_PLACES))
    largest_markup = capacity(MARKUP_DIGITS, MARKUP_PLACES)
    invoice = capacity(CENTS_DIGITS, CENTS_PLACES) / ((1 + largest_markup) * MONTHS_AN_INVOICE_HOLDS)
    return Decimal(10) ** min(money, invoice).adjusted()
