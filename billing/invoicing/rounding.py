"""The one place invoice money is rounded.

Rule: every invoice line is the exact sum of the unrounded costs it covers, rounded once to the
currency's minor unit (cents) with ROUND_HALF_EVEN (banker's rounding: halves go to the even
cent, so over many lines rounding does not drift one way). The subtotal is the sum of the rounded
lines, the markup is the subtotal times the team's markup fraction rounded once the same way, and
the total is subtotal + markup. So the printed lines always add up to the printed total.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_EVEN
ZERO_CENTS = Decimal("0.00")


def money_round(amount: Decimal) -> Decimal:
    """An exact amount rounded to cents, the documented way."""
    return Decimal(amount).quantize(CENT, rounding=ROUNDING)


def money_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of amounts already rounded to cents (so still in cents)."""
    return sum(amounts, ZERO_CENTS)
