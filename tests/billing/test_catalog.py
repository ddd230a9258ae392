"""The genai-prices catalog read into Tally's list prices: slugs, conventions, tiers, dates.
No database: the catalog ships with the package."""

from datetime import datetime, timezone
from decimal import Decimal

import genai_prices
import pytest

from billing.catalog import CATALOG_VERSION, catalog_model, catalog_price
from billing.reconciliation.charges import kushrouter_cost, list_cost
from generations.gateways.base import GatewayGenerationRecord

AT = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("slug", "catalog_entry", "prompt", "completion", "cache_read", "cache_write"),
    [
        ("anthropic/claude-sonnet-4", "anthropic/claude-sonnet-4-0", "3", "15", "0.3", "3.75"),
        ("anthropic/claude-3.5-haiku", "anthropic/claude-3-5-haiku-latest", "0.8", "4", "0.08", "1"),
        ("openai/gpt-4o-mini", "openai/gpt-4o-mini", "0.15", "0.6", "0.075", None),
        ("openai/gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini", "0.15", "0.6", "0.075", None),
        ("google/gemini-2.5-flash", "google/gemini-2.5-flash", "0.3", "2.5", "0.03", None),
        ("mistralai/mistral-large", "mistral/mistral-large", None, None, None, None),
        ("x-ai/grok-4", "x-ai/grok-4-0709", None, None, None, None),
        # Not a catalog provider id: found among the catalog's OpenRouter slugs.
        ("meta-llama/llama-3.1-70b-instruct", "openrouter/meta-llama/llama-3.1-70b-instruct", None, None, None, None),
        # KushRouter names models without a provider.
        ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4-0", "3", "15", "0.3", "3.75"),
        ("gpt-5-mini-2025-08-07", "openai/gpt-5-mini", "0.25", "2", "0.025", None),
    ],
)
def test_real_model_slugs_map_to_the_catalogs_provider_and_model(
    slug, catalog_entry, prompt, completion, cache_read, cache_write
):
    assert catalog_model(slug).name == catalog_entry
    price = catalog_price(slug, at=AT)
    assert price.model == slug
    assert price.source == f"catalog (genai-prices {genai_prices.__version__}: {catalog_entry})"
    if prompt is not None:
        expected = (Decimal(prompt), Decimal(completion), cache_read and Decimal(cache_read), cache_write and Decimal(cache_write))
        assert (price.prompt, price.completion, price.cache_read, price.cache_write) == expected


def test_the_version_in_the_source_is_the_installed_snapshots():
    assert CATALOG_VERSION == f"genai-prices {genai_prices.__version__}"


def test_a_free_variant_costs_nothing_and_is_never_priced_as_the_paid_model():
    free = catalog_price("meta-llama/llama-3.3-70b-instruct:free", at=AT)
    assert (free.prompt, free.completion) == (Decimal(0), Decimal(0))
    # At Google the base model is paid; the free variant is not read as it.
    assert catalog_price("google/gemini-2.0-flash-exp:free", at=AT).prompt == Decimal(0)


@pytest.mark.parametrize("slug", ["openrouter/auto", "acme/house-model-7", "llama-3.3-70b", "", "anthropic/claude-sonnet-4:floor"])
def test_models_the_catalog_cannot_price_have_no_catalog_price(slug):
    assert catalog_price(slug, at=AT) is None


def test_a_long_context_tier_applies_to_all_tokens_once_total_input_passes_its_start():
    below = catalog_price("anthropic/claude-sonnet-4.5", at=AT, input_tokens=200_000)
    above = catalog_price("anthropic/claude-sonnet-4.5", at=AT, input_tokens=200_001)
    assert (below.prompt, below.completion, below.cache_read, below.cache_write) == (
        Decimal("3"), Decimal("15"), Decimal("0.3"), Decimal("3.75")
    )
    assert (above.prompt, above.completion, above.cache_read, above.cache_write) == (
        Decimal("6"), Decimal("22.5"), Decimal("0.6"), Decimal("7.5")
    )


def test_a_catalog_price_change_prices_each_call_by_its_own_date():
    # Claude Sonnet 4.6 dropped its long-context tier on 2026-03-13 (the catalog dates the change).
    before = catalog_price("anthropic/claude-sonnet-4-6", at=datetime(2026, 3, 1, tzinfo=timezone.utc), input_tokens=250_000)
    after = catalog_price("anthropic/claude-sonnet-4-6", at=datetime(2026, 3, 20, tzinfo=timezone.utc), input_tokens=250_000)
    assert (before.prompt, after.prompt) == (Decimal("6"), Decimal("3"))


def test_off_peak_hours_are_priced_by_the_calls_time_of_day():
    peak = catalog_price("deepseek/deepseek-chat", at=datetime(2026, 11, 15, 10, 0, tzinfo=timezone.utc))
    off_peak = catalog_price("deepseek/deepseek-chat", at=datetime(2026, 11, 15, 18, 0, tzinfo=timezone.utc))
    assert peak.prompt != off_peak.prompt


def kushrouter_record(
    *, model: str, prompt: int, cache_read: int, cache_write: int, completion: int
) -> GatewayGenerationRecord:
    # KushRouter names Claude models without the provider prefix.
    return GatewayGenerationRecord(
        id="msg-1", raw="{}", served_model=model.split("/", 1)[-1], tokens_prompt=prompt, tokens_completion=completion,
        tokens_cached=cache_read, tokens_cache_write=cache_write,
    )


@pytest.mark.parametrize(
    ("model", "uncached", "cache_read", "cache_write", "completion"),
    [
        ("anthropic/claude-sonnet-4", 12_000, 30_000, 5_000, 800),
        ("anthropic/claude-3.5-haiku", 1, 0, 2_048, 17),
        # 150,000 + 40,000 + 20,000 = 210,000 input tokens in all: the long-context tier.
        ("anthropic/claude-sonnet-4.5", 150_000, 40_000, 20_000, 3_000),
    ],
)
def test_tallys_kushrouter_charge_is_genai_prices_own_calculation(model, uncached, cache_read, cache_write, completion):
    """KushRouter (Anthropic's convention) reports cache reads and writes apart from prompt_tokens;
    genai-prices counts them inside input_tokens. Mapped one onto the other, both agree exactly."""
    total_input = uncached + cache_read + cache_write
    price = catalog_price(model, at=AT, input_tokens=total_input)
    record = kushrouter_record(model=model, prompt=uncached, cache_read=cache_read, cache_write=cache_write, completion=completion)
    usage = genai_prices.Usage(
        input_tokens=total_input, cache_read_tokens=cache_read, cache_write_tokens=cache_write, output_tokens=completion
    )
    reference = genai_prices.calc_price(usage, model.split("/", 1)[1], provider_id="anthropic", genai_request_timestamp=AT)
    assert kushrouter_cost(record=record, price=price, discount=Decimal(0)) == reference.total_price
    assert kushrouter_cost(record=record, price=price, discount=Decimal("0.30")) == reference.total_price * Decimal("0.7")


def test_an_openrouter_prompt_count_with_its_cache_discount_is_genai_prices_calculation():
    """OpenRouter counts cached tokens inside the prompt (as genai-prices does) and reports what
    caching saved as `cache_discount`: list cost of all prompt tokens less that discount is the
    catalog's price of the call."""
    uncached, cache_read, cache_write, completion = 12_000, 30_000, 5_000, 800
    prompt = uncached + cache_read + cache_write
    price = catalog_price("anthropic/claude-sonnet-4", at=AT, input_tokens=prompt)
    cache_discount = (cache_read * (price.prompt - price.cache_read) - cache_write * (price.cache_write - price.prompt)) / 1_000_000
    usage = genai_prices.Usage(input_tokens=prompt, cache_read_tokens=cache_read, cache_write_tokens=cache_write, output_tokens=completion)
    reference = genai_prices.calc_price(usage, "claude-sonnet-4", provider_id="anthropic", genai_request_timestamp=AT)
    assert list_cost(price=price, prompt=prompt, completion=completion) - cache_discount == reference.total_price
