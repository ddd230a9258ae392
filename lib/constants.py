"""Constants the apps' models and serializers must agree on."""

# Every stored amount of money (costs, prices, tolerances): numeric(MONEY_DIGITS, MONEY_PLACES).
MONEY_DIGITS = 24
MONEY_PLACES = 12
