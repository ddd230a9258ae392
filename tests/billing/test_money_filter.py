"""How amounts and shares are written on the pages."""

from decimal import Decimal

import pytest

from billing.templatetags.money import money, number, percent, share_width


@pytest.mark.parametrize(
    "amount, shown",
    [
        ("12.34561", "$12.3456"),
        ("50.00", "$50.00"),
        ("6.2", "$6.20"),
        ("0.0000375", "$0.0000375"),
        ("0.000000037500", "$0.0000000375"),
        ("0.00999999", "$0.01"),
        ("1234567.899", "$1,234,567.90"),
        ("-3.5", "-$3.50"),
        ("0", "$0.00"),
    ],
)
def test_it_writes_money_with_sensible_precision(amount, shown):
    assert money(Decimal(amount)) == shown


def test_it_writes_other_currencies_by_code_and_nothing_as_a_dash():
    assert money(Decimal("1.5"), "CHF") == "1.50 CHF"
    assert money(None) == "—"


def test_it_writes_shares_as_percentages_and_bars_that_stop_at_full():
    assert percent(Decimal("0.97315")) == "97.3%"
    assert percent(Decimal("0.5"), 0) == "50%"
    assert percent(None) == "—"
    assert share_width(Decimal("1.7")) == "100.0%"
    assert share_width(Decimal("0.4231")) == "42.3%"


def test_it_writes_exact_numbers_without_trailing_zeros():
    assert number(Decimal("0.021400000000")) == "0.0214"
    assert number(Decimal("0.0117"), "signed") == "+0.0117"
    assert number(Decimal("1200")) == "1,200"
