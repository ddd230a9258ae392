"""Constants the apps' models and serializers must agree on."""

# Every stored amount of money (costs, prices, tolerances): numeric(MONEY_DIGITS, MONEY_PLACES).
# 18 places keep every digit a float-derived cost carries that means anything (lib/precision.py).
MONEY_DIGITS = 38
MONEY_PLACES = 18

# Every invoice figure (lines, subtotal, markup, total) in the currency's minor unit.
CENTS_DIGITS = 16
CENTS_PLACES = 2
# List prices are in USD per million tokens.
PER_MILLION = 1_000_000

# A team's invoice markup, as a fraction (0.05 = 5%).
MARKUP_DIGITS = 6
MARKUP_PLACES = 4
