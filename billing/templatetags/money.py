"""Template filters that show money and shares without ever going through float."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# Below a cent, show three significant digits: a single call can cost $0.0000375.
SIGNIFICANT_DIGITS_BELOW_A_CENT = 3
MAX_PLACES = 18  # lib.precision.MONEY_PLACES
EMPTY = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def money_places(amount: Decimal) -> int:
    """How many decimal places an amount is shown with: cents for thousands and more; from a
    cent up, four places (so small differences stay visible) unless the amount is whole cents;
    three significant digits below a cent."""
    size = abs(amount)
    if size >= 1000 or size == 0:
        return 2
    if size >= Decimal("0.01"):
        return 2 if _round(size, 4) == _round(size, 2) else 4
    return min(MAX_PLACES, -size.adjusted() + SIGNIFICANT_DIGITS_BELOW_A_CENT - 1)


def _round(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


@register.filter
def money(value, currency: str = "USD") -> str:
    """`Decimal("12.34561")` -> "$12.3456"; `Decimal("50.00")` -> "$50.00"; `Decimal("0.0000375")` -> "$0.0000375"."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    places = money_places(amount)
    rounded = _round(amount, places)
    if money_places(rounded) < places:  # 0.0099999 rounds to 0.0100: show it as a cent amount
        places = money_places(rounded)
        rounded = _round(amount, places)
    digits = f"{abs(rounded):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{symbol}{digits}" if symbol else f"{digits} {currency}"
    return f"-{text}" if rounded < 0 else text


@register.filter
def number(value, sign: str = "") -> str:
    """An exact amount as written, without trailing zeros: `Decimal("0.021400000000")` -> "0.0214".
    With "signed", a positive value gets a plus sign (for differences)."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    text = f"{amount.normalize() if amount else Decimal(0):,f}"
    return f"+{text}" if sign == "signed" and amount > 0 else text


@register.filter
def percent(value, places: int = 1) -> str:
    """A share from 0 to 1 as a percentage: `Decimal("0.9731")` -> "97.3%"; None -> "—"."""
    share = _decimal(value)
    if share is None:
        return EMPTY
    shown = _round(share * 100, int(places))
    return f"{shown:,f}%"


@register.filter
def share_width(value) -> str:
    """A share as a CSS width between 0% and 100%, for bars (an over-budget bar stays full)."""
    share = _decimal(value)
    if share is None:
        return "0%"
    clamped = min(max(share, Decimal(0)), Decimal(1))
    return f"{(clamped * 100).quantize(Decimal('0.1'))}%"
