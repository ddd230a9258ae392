"""lib/precision.py: one rounding of amounts at the 18th place; billing/money.py: exact amounts for people."""

from decimal import Decimal

import pytest

from billing.money import exact_amount_text
from lib.precision import MONEY_PLACES, sqlite_storable_amount, stored_amount


def test_amounts_are_stored_with_at_least_eighteen_places():
    assert MONEY_PLACES >= 18
    assert stored_amount(Decimal("0.000000000000000001")) == Decimal("1E-18")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("0.0000000000000000005", "0"),  # half to even: down to 0
        ("0.0000000000000000015", "0.000000000000000002"),  # half to even: up to 2
        ("0.0000000000000000025", "0.000000000000000002"),
        ("0.00035999999999999997", "0.00036"),
        ("1.5", "1.5"),
    ],
)
def test_more_places_are_rounded_once_half_to_even(sent, stored):
    assert stored_amount(Decimal(sent)) == Decimal(stored)


def test_sqlite_keeps_fifteen_significant_digits_and_says_so():
    assert sqlite_storable_amount(Decimal("0.1234567890123456789")) == Decimal("0.123456789012346")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0E-12"), "0 USD"),
        (Decimal("1.23457E-7"), "0.000000123457 USD"),
        (Decimal("12.500000000000000000"), "12.5 USD"),
        (Decimal("-0.0005"), "-0.0005 USD"),
        (Decimal("1E+3"), "1000 USD"),
    ],
)
def test_plain_decimals_never_have_exponents(amount, text):
    assert exact_amount_text(amount) == text
