"""How exactly amounts are stored, and how they are written for people.

Costs arrive float-derived (`1.2345678901234e-07`, `0.00035999999999999997`) with any number of
places. Per-generation costs, gateway amounts, roll-ups and prices are stored as
numeric(MONEY_DIGITS, MONEY_PLACES): 18 places keep every digit a float-derived cost carries
that means anything. An amount with more places is rounded once, half to even, at the 18th
place, by `stored_amount`, wherever it enters (ingest, gateway answers, price imports).
Invoice amounts are rounded to the currency's minor unit, and amounts are written for people, in
billing/money.py.
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal

from lib.constants import MONEY_DIGITS, MONEY_PLACES

MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
# The largest amount the columns hold is just under 10 ** MONEY_INTEGER_DIGITS.
MONEY_INTEGER_DIGITS = MONEY_DIGITS - MONEY_PLACES
# SQLite (the demo only) keeps a REAL, 15 significant digits: a value rounded to those reads back
# exactly as it was written (see sqlite_storable_amount).
SQLITE_SIGNIFICANT_DIGITS = 15

_MONEY_CONTEXT = Context(prec=MONEY_DIGITS + 2, rounding=ROUND_HALF_EVEN)
_SQLITE_CONTEXT = Context(prec=SQLITE_SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN)


def stored_amount(amount: Decimal) -> Decimal:
    """The amount as stored: rounded half to even at MONEY_PLACES places, if it has more."""
    if amount.as_tuple().exponent >= -MONEY_PLACES:  # type: ignore[operator]
        return amount
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN, context=_MONEY_CONTEXT)


def sqlite_storable_amount(amount: Decimal) -> Decimal:
    """The amount as SQLite gives it back: 15 significant digits, at most MONEY_PLACES places."""
    return stored_amount(_SQLITE_CONTEXT.plus(amount))

