"""Money in Tally: how precisely it is stored, how invoices round it, and how it is written.

The one module to read for "how money is rounded and shown". Amounts are `Decimal` from the wire
to the page; nothing here goes through float, and nothing writes a decimal with an exponent
(`0E-12`, `1.23457E-7`).

Storage
    Per-generation amounts (costs, charges, roll-ups, prices, a discrepancy's figures) are stored
    as lib.precision says (`MONEY_PLACES` places, re-exported here); invoice amounts are whole
    cents (`INVOICE_DIGITS`, `INVOICE_PLACES`, used by the invoice fields).

Invoice rounding
    Every invoice line is the exact sum of the unrounded costs it covers, rounded once to cents
    with ROUND_HALF_EVEN (banker's rounding: halves go to the even cent, so over many lines
    rounding does not drift one way). The subtotal is the sum of the rounded lines, the markup is
    the subtotal times the team's markup fraction rounded once the same way, and the total is
    subtotal + markup. So the printed lines always add up to the printed total.

Writing
    `money_text` for pages and the admin (sensible precision: cents, or enough places to see a
    fraction of a cent), `invoice_money_text` for invoice documents (always cents, with the
    currency code), `decimal_text` for CSV, `plain_decimal` for exact figures on pages, `percent_text` for measured shares
    (90.4% verified is "90.4%"), `rate_text` for configured rates (a 5.25% markup is "5.25%").
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from lib.constants import CENTS_DIGITS, CENTS_PLACES
from lib.precision import MONEY_DIGITS, MONEY_PLACES, MONEY_QUANTUM, stored_amount

# Per-generation storage is lib.precision's (every app's models and serializers share it);
# re-exported so that "how money is stored, rounded and written" is read here.
__all__ = ["MONEY_DIGITS", "MONEY_PLACES", "MONEY_QUANTUM", "stored_amount"]
# Invoice amounts are cents; lib.constants holds them because ingest's bounds (lib/bounds.py) derive from them.
INVOICE_DIGITS = CENTS_DIGITS
INVOICE_PLACES = CENTS_PLACES

ROUNDING = ROUND_HALF_EVEN
CENT = Decimal("0.01")
ZERO_CENTS = Decimal("0.00")

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# Below a cent, show three significant digits: a single call can cost $0.0000375.
SIGNIFICANT_DIGITS_BELOW_A_CENT = 3
MAX_SHOWN_PLACES = MONEY_PLACES
# Measured shares (verified, budget used) are written with one place: "97.3%".
SHARE_PLACES = 1
EMPTY = "—"


def as_decimal(value) -> Decimal | None:
    """A Decimal, or None for nothing (None, "") and for what is not a number."""
    if value is None or value == "" or isinstance(value, float):
        return None  # a float is already inexact: refuse it rather than show a rounded guess
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _quantize(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


# ---- invoice rounding -------------------------------------------------------------------------


def money_round(amount: Decimal) -> Decimal:
    """An exact amount rounded to cents, the documented way (once per invoice line)."""
    return _quantize(Decimal(amount), INVOICE_PLACES)


def money_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The sum of amounts already rounded to cents (so still in cents)."""
    return sum(amounts, ZERO_CENTS)


# ---- writing ----------------------------------------------------------------------------------


def plain_decimal(value, *, grouped: bool = False, signed: bool = False) -> str:
    """An exact amount as written, never with an exponent and without trailing zeros:
    `Decimal("0.021400000000")` -> "0.0214", `Decimal("0E-12")` -> "0",
    `Decimal("1.23457E-7")` -> "0.000000123457". With `signed`, a positive value gets "+"."""
    amount = as_decimal(value)
    if amount is None:
        return EMPTY
    amount = amount.normalize() if amount else Decimal(0)
    text = f"{amount:,f}" if grouped else f"{amount:f}"
    return f"+{text}" if signed and amount > 0 else text


def exact_amount_text(value, unit: str = "USD") -> str:
    """An exact amount with its unit after it, every digit kept, for texts that are evidence (a
    finding's detail): `Decimal("1.23457E-7")` -> "0.000000123457 USD"."""
    text = plain_decimal(value)
    return text if text == EMPTY else f"{text} {unit}"


def decimal_text(value) -> str:
    """A stored decimal with every place it has, never an exponent, for CSV: "3.00" stays
    "3.00", `Decimal("0E-12")` -> "0.000000000000"."""
    amount = as_decimal(value)
    return "" if amount is None else f"{amount:f}"


def money_places(amount: Decimal) -> int:
    """How many decimal places an amount is shown with on pages: cents for thousands and more;
    from a cent up, four places (so small differences stay visible) unless the amount is whole
    cents; three significant digits below a cent."""
    size = abs(amount)
    if size >= 1000 or size == 0:
        return 2
    if size >= CENT:
        return 2 if _quantize(size, 4) == _quantize(size, 2) else 4
    return min(MAX_SHOWN_PLACES, -size.adjusted() + SIGNIFICANT_DIGITS_BELOW_A_CENT - 1)


def money_text(value, currency: str = "USD") -> str:
    """An amount for a page: `Decimal("12.34561")` -> "$12.3456"; `Decimal("50.00")` -> "$50.00";
    `Decimal("0.0000375")` -> "$0.0000375"; a currency without a symbol -> "1.50 CHF"."""
    amount = as_decimal(value)
    if amount is None:
        return EMPTY
    places = money_places(amount)
    rounded = _quantize(amount, places)
    if money_places(rounded) < places:  # 0.0099999 rounds to 0.0100: show it as a cent amount
        places = money_places(rounded)
        rounded = _quantize(amount, places)
    return _with_currency(rounded, places, currency)


def money_tick_text(value: Decimal, step: Decimal, currency: str = "USD") -> str:
    """A chart axis label: the amount with as many places as the tick step needs (at least cents),
    so ticks of 0.0002 read "$0.0002", "$0.0004" rather than "$0.000200"."""
    exponent = step.normalize().as_tuple().exponent
    places = max(INVOICE_PLACES, -exponent if isinstance(exponent, int) else 0)
    return _with_currency(_quantize(value, places), places, currency)


def invoice_money_text(value, currency: str = "USD") -> str:
    """An invoice amount, always in cents with the currency code: "USD 1,234.50", "-USD 3.00"."""
    amount = as_decimal(value)
    if amount is None:
        return EMPTY
    rounded = _quantize(amount, INVOICE_PLACES)
    text = f"{currency} {abs(rounded):,.{INVOICE_PLACES}f}"
    return f"-{text}" if rounded < 0 else text


def _with_currency(rounded: Decimal, places: int, currency: str) -> str:
    digits = f"{abs(rounded):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{symbol}{digits}" if symbol else f"{digits} {currency}"
    return f"-{text}" if rounded < 0 else text


def percent_text(value, places: int = SHARE_PLACES) -> str:
    """A measured share from 0 to 1 as a percentage with `places` places (one by default):
    0.9731 -> "97.3%", 0.904 -> "90.4%"; percent_text(0.5, 0) -> "50%"; None -> "—"."""
    share = as_decimal(value)
    if share is None:
        return EMPTY
    return f"{_quantize(share * 100, int(places)):,f}%"


def rate_text(value) -> str:
    """A configured rate (a markup, a discount) exactly as set: 0.0525 -> "5.25%", 0.05 -> "5%"."""
    rate = as_decimal(value)
    if rate is None:
        return EMPTY
    return f"{plain_decimal(rate * 100, grouped=True)}%"


def share_width(value) -> str:
    """A share as a CSS width between 0% and 100%, for bars (an over-budget bar stays full)."""
    share = as_decimal(value)
    if share is None:
        return "0%"
    clamped = min(max(share, Decimal(0)), Decimal(1))
    return f"{_quantize(clamped * 100, 1):f}%"
