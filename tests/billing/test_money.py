"""billing.money: how money, shares and rates are written, and that nothing near money goes
through float or prints an exponent."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from billing.money import (
    as_decimal,
    decimal_text,
    invoice_money_text,
    money_round,
    money_tick_text,
    percent_text,
    plain_decimal,
    rate_text,
)


def test_a_measured_share_keeps_its_tenth_of_a_percent():
    assert percent_text(Decimal("0.904")) == "90.4%"
    assert percent_text(Decimal("0.9999")) == "100.0%"
    assert percent_text(Decimal("0.5"), 0) == "50%"
    assert percent_text(None) == "—"


@pytest.mark.parametrize("rate, shown", [("0.0525", "5.25%"), ("0.05", "5%"), ("0.1250", "12.5%"), ("0", "0%")])
def test_a_configured_rate_is_written_exactly_as_set(rate, shown):
    assert rate_text(Decimal(rate)) == shown


@pytest.mark.parametrize(
    "value, plain, exact",
    [
        (Decimal("0E-12"), "0", "0.000000000000"),
        (Decimal("1.23457E-7"), "0.000000123457", "0.000000123457"),
        (Decimal("3.00"), "3", "3.00"),
        (Decimal("1E+3"), "1000", "1000"),
    ],
)
def test_no_decimal_is_ever_written_with_an_exponent(value, plain, exact):
    assert plain_decimal(value) == plain
    assert decimal_text(value) == exact
    assert "E" not in plain_decimal(value) + decimal_text(value)


def test_invoice_amounts_are_cents_with_the_currency_code():
    assert invoice_money_text(Decimal("1234.5")) == "USD 1,234.50"
    assert invoice_money_text(Decimal("-3"), "EUR") == "-EUR 3.00"
    assert invoice_money_text(Decimal("0.005")) == "USD 0.00"  # half-even: to the even cent
    assert invoice_money_text(Decimal("0.015")) == "USD 0.02"


def test_invoice_rounding_is_half_even_at_the_cent():
    assert [money_round(Decimal(x)) for x in ("0.125", "0.135", "0.1251")] == [
        Decimal("0.12"),
        Decimal("0.14"),
        Decimal("0.13"),
    ]


def test_chart_ticks_have_the_places_their_step_needs():
    assert [money_tick_text(Decimal("0.0002") * n, Decimal("0.0002")) for n in (0, 1, 5)] == [
        "$0.0000",
        "$0.0002",
        "$0.0010",
    ]
    assert money_tick_text(Decimal("20"), Decimal("5")) == "$20.00"


def test_a_float_is_refused_rather_than_shown_rounded():
    assert as_decimal(0.1) is None
    assert as_decimal("0.1") == Decimal("0.1")


def test_no_template_formats_numbers_through_float():
    """floatformat and widthratio convert to float: 5.25% became "5%" and 90.4% "90%"."""
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        if re.search(r"floatformat|widthratio", path.read_text())
    ]
    assert offenders == []
