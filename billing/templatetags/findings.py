"""Template filters that name and explain kinds of discrepancy (see billing.discrepancy_kinds)."""

from django import template

from billing.discrepancy_kinds import figure_text, kind_info

register = template.Library()


@register.filter
def kind_name(kind: str) -> str:
    """"cost_mismatch" -> "Cost differs"."""
    return kind_info(kind).name


@register.filter
def kind_explanation(kind: str) -> str:
    """The one-line explanation of a kind, from its rule's docstring."""
    return kind_info(kind).explanation


@register.filter
def figure(value, kind: str) -> str:
    """A discrepancy's expected or actual value with the unit of its kind: "$0.0214", "1,200 tokens", "yes"."""
    return figure_text(value, kind_info(kind).unit)


@register.filter
def difference(value, kind: str) -> str:
    """A discrepancy's delta with the unit of its kind and a sign: "+$0.0117", "-48 tokens"."""
    return figure_text(value, kind_info(kind).unit, signed=True)
