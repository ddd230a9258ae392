"""Constants the apps' models and serializers must agree on."""

# Every stored amount of money (costs, prices, tolerances): numeric(MONEY_DIGITS, MONEY_PLACES).
# 18 places keep every digit a float-derived cost carries that means anything (lib/precision.py).
MONEY_DIGITS = 38
MONEY_PLACES = 18
