"""Template filters for money and shares; the writing itself lives in billing.money."""

from django import template

from billing import money as money_module

register = template.Library()


@register.filter
def money(value, currency: str = "USD") -> str:
    """An amount for a page: "$12.3456", "$50.00", "$0.0000375" (see billing.money.money_text)."""
    return money_module.money_text(value, currency)


@register.filter
def invoice_money(value, currency: str = "USD") -> str:
    """An invoice amount in cents with the currency code: "USD 1,234.50"."""
    return money_module.invoice_money_text(value, currency)


@register.filter
def number(value, sign: str = "") -> str:
    """An exact amount as written, without trailing zeros or exponent: "0.0214"; with "signed",
    a positive value gets a plus sign (for differences)."""
    return money_module.plain_decimal(value, grouped=True, signed=sign == "signed")


@register.filter
def percent(value, places=money_module.SHARE_PLACES) -> str:
    """A share from 0 to 1 as a percentage: "97.3%"; None -> "—"."""
    return money_module.percent_text(value, int(places))


@register.filter
def rate(value) -> str:
    """A configured rate exactly as set: a 0.0525 markup -> "5.25%"."""
    return money_module.rate_text(value)


@register.filter
def share_width(value) -> str:
    """A share as a CSS width between 0% and 100%, for bars."""
    return money_module.share_width(value)
