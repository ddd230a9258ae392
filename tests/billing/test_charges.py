"""What each gateway charged, read the way each gateway means it."""

from decimal import Decimal

import pytest

from billing.reconciliation.charges import gateway_charge, kushrouter_cost, list_cost, money
from billing.reconciliation.facts import ListPrice
from generations.gateways.base import GatewayGenerationRecord

PRICE = ListPrice(
    model="claude-sonnet", prompt=Decimal("3"), completion=Decimal("15"), cache_read=Decimal("0.3"), cache_write=Decimal("3.75")
)


def record(**fields) -> GatewayGenerationRecord:
    return GatewayGenerationRecord(id="x", raw="{}", **fields)


def test_it_charges_openrouter_total_cost_without_upstream_when_not_byok():
    charged = gateway_charge(
        kind="openrouter",
        record=record(total_cost=Decimal("0.0015"), upstream_inference_cost=Decimal("0.0012"), is_byok=False),
        price=None,
        discount=Decimal(0),
    )
    assert charged == Decimal("0.0015")


def test_it_charges_openrouter_byok_fee_plus_upstream():
    charged = gateway_charge(
        kind="openrouter",
        record=record(total_cost=Decimal("0.00006"), upstream_inference_cost=Decimal("0.0012"), is_byok=True),
        price=None,
        discount=Decimal(0),
    )
    assert charged == Decimal("0.00126")


def test_it_charges_fastrouter_credits_used():
    assert gateway_charge(kind="fastrouter", record=record(credits_used=Decimal("0.000609")), price=None, discount=Decimal(0)) == Decimal(
        "0.000609"
    )
    assert gateway_charge(kind="fastrouter", record=record(), price=None, discount=Decimal(0)) is None


def test_it_prices_kushrouter_cache_reads_and_writes_at_their_own_rates_less_the_discount():
    usage = record(
        served_model="claude-sonnet-4", tokens_prompt=121, tokens_completion=345, tokens_cached=1000, tokens_cache_write=2000
    )
    # A Claude model: prompt_tokens are the uncached input, cache reads and writes come on top.
    # (121 x 3 + 345 x 15 + 1000 x 0.3 + 2000 x 3.75) / 1e6 = 0.013338; 30% off = 0.0093366
    assert kushrouter_cost(record=usage, price=PRICE, discount=Decimal("0.30")) == Decimal("0.0093366")
    assert gateway_charge(kind="kushrouter", record=usage, price=None, discount=Decimal(0)) is None


def test_it_prices_cache_tokens_at_the_prompt_rate_when_the_list_has_no_cache_prices():
    plain = ListPrice(model="m", prompt=Decimal("2"), completion=Decimal("8"))
    assert list_cost(price=plain, prompt=100, completion=10, cache_read=50, cache_write=50) == Decimal("0.00048")


def test_it_keeps_amounts_exact_to_eighteen_places():
    charged = gateway_charge(
        kind="openrouter", record=record(total_cost=Decimal("0.00000003750000001")), price=None, discount=Decimal(0)
    )
    assert charged == Decimal("0.00000003750000001")
    assert money(Decimal("0.0000000000000000005")) == Decimal("0")  # half to even
    assert money(Decimal("0.0000000000000000015")) == Decimal("0.000000000000000002")


def test_it_refuses_an_unknown_gateway_kind():
    with pytest.raises(ValueError, match="Unknown gateway kind"):
        gateway_charge(kind="elsewhere", record=record(), price=None, discount=Decimal(0))
