"""Price precedence: an import for the gateway and model, then the gateway's own list, then the
catalog; each dated, each saying its source."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from accounts.models import Gateway
from billing.models import ModelPrice, PriceSource
from billing.price_book import PriceBook

pytestmark = pytest.mark.django_db

MODEL = "anthropic/claude-sonnet-4"


@pytest.fixture
def gateway():
    return Gateway.objects.create(slug="openrouter", name="OpenRouter", kind="openrouter", base_url="http://127.0.0.1:9")


def stored(gateway, *, source, valid_from, prompt, applies_below=None, model=MODEL):
    return ModelPrice.objects.create(
        gateway=gateway, model=model, source=source, valid_from=valid_from, prompt=Decimal(prompt),
        completion=Decimal("10"), fetched_at=datetime(2026, 11, 1, 4, 15, tzinfo=timezone.utc) if source == PriceSource.GATEWAY_LIST else None,
        applies_below_prompt_tokens=applies_below,
    )


def on(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=timezone.utc)


def test_with_nothing_stored_the_catalog_prices_the_model(gateway):
    price = PriceBook(gateway).price(MODEL, at=on(15))
    assert (price.prompt, price.completion) == (Decimal("3"), Decimal("15"))
    assert price.source.startswith("catalog (genai-prices ")


def test_the_gateway_list_beats_the_catalog_and_an_import_beats_both(gateway):
    stored(gateway, source=PriceSource.GATEWAY_LIST, valid_from=date(2026, 11, 1), prompt="2.9")
    listed = PriceBook(gateway).price(MODEL, at=on(15))
    assert (listed.prompt, listed.source) == (Decimal("2.9"), "gateway list (openrouter, read 2026-11-01)")

    stored(gateway, source=PriceSource.IMPORT, valid_from=date(2026, 1, 1), prompt="2.5")
    imported = PriceBook(gateway).price(MODEL, at=on(15))
    assert (imported.prompt, imported.source) == (Decimal("2.5"), "import (from 2026-01-01)")


def test_a_price_change_mid_month_prices_each_generation_by_its_own_date(gateway):
    stored(gateway, source=PriceSource.GATEWAY_LIST, valid_from=date(2026, 11, 1), prompt="2.9")
    stored(gateway, source=PriceSource.GATEWAY_LIST, valid_from=date(2026, 11, 16), prompt="3.1")
    book = PriceBook(gateway)
    book.preload(models=[MODEL], until=date(2026, 11, 30))
    assert book.price(MODEL, at=on(15)).prompt == Decimal("2.9")
    assert book.price(MODEL, at=on(16)).prompt == Decimal("3.1")
    # Before the gateway's list was first read, the catalog is what was in force.
    assert book.price(MODEL, at=on(20, month=10)).source.startswith("catalog")


def test_an_import_from_a_later_date_does_not_price_earlier_generations(gateway):
    stored(gateway, source=PriceSource.IMPORT, valid_from=date(2026, 11, 16), prompt="2.5")
    stored(gateway, source=PriceSource.GATEWAY_LIST, valid_from=date(2026, 11, 1), prompt="2.9")
    book = PriceBook(gateway)
    assert book.price(MODEL, at=on(10)).prompt == Decimal("2.9")
    assert book.price(MODEL, at=on(20)).prompt == Decimal("2.5")


def test_a_gateway_list_price_with_a_long_context_limit_gives_way_to_the_catalog_above_it(gateway):
    stored(gateway, source=PriceSource.GATEWAY_LIST, valid_from=date(2026, 11, 1), prompt="3", applies_below=200_000,
           model="anthropic/claude-sonnet-4.5")
    book = PriceBook(gateway)
    assert book.price("anthropic/claude-sonnet-4.5", at=on(15), input_tokens=199_999).source.startswith("gateway list")
    long_prompt = book.price("anthropic/claude-sonnet-4.5", at=on(15), input_tokens=250_000)
    assert (long_prompt.prompt, long_prompt.source.split(" (")[0]) == (Decimal("6"), "catalog")


def test_prices_of_one_gateway_never_price_another(gateway):
    other = Gateway.objects.create(slug="llmhub", name="LLM Hub", kind="openrouter", base_url="http://127.0.0.1:9")
    stored(other, source=PriceSource.IMPORT, valid_from=date(2026, 1, 1), prompt="1")
    assert PriceBook(gateway).price(MODEL, at=on(15)).source.startswith("catalog")


def test_a_model_no_source_knows_has_no_price(gateway):
    assert PriceBook(gateway).price("acme/house-model-7", at=on(15)) is None
