"""Reading an OpenRouter-kind gateway's model list: a recorded real answer (see
tests/fixtures/gateways/README.md), hostile ones, and the simulator's list over real HTTP."""

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from openrouter.components import Model

from generations.gateways.base import BadPayload, NotFound
from generations.gateways.model_list import ListedPrice, fetch_model_list, parse_model_list
from demo.simulator.model_list import DEFAULT_MODELS

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "gateways" / "openrouter_models.json"


@pytest.fixture(scope="module")
def listing():
    return parse_model_list(FIXTURE.read_text())


def test_the_recorded_answer_is_openrouters_schema_as_the_official_sdk_reads_it():
    for entry in json.loads(FIXTURE.read_text())["data"]:
        assert Model.model_validate(entry).pricing.prompt == entry["pricing"]["prompt"]


def test_per_token_strings_become_exact_prices_per_million_tokens(listing):
    prices = {price.model: price for price in listing.prices}
    assert prices["anthropic/claude-sonnet-4"] == ListedPrice(
        model="anthropic/claude-sonnet-4",
        prompt=Decimal("3"),
        completion=Decimal("15"),
        cache_read=Decimal("0.3"),
        cache_write=Decimal("3.75"),
        applies_below_prompt_tokens=200_000,
    )
    mini = prices["openai/gpt-4o-mini"]
    assert (mini.prompt, mini.completion, mini.cache_read, mini.cache_write) == (
        Decimal("0.15"), Decimal("0.6"), Decimal("0.075"), None
    )
    assert prices["dots-studio/dots-3-note-preview:free"].prompt == Decimal(0)


def test_a_per_token_rate_becomes_its_exact_per_million_price(listing):
    gemini = next(price for price in listing.prices if price.model == "google/gemini-2.5-flash")
    # "0.0000000833333333333333" per token is 0.0833333333333333 per million: within the 18
    # places a price keeps, so no digit is lost.
    assert gemini.cache_write == Decimal("0.0833333333333333")


def test_a_long_context_override_marks_the_size_below_which_the_flat_price_holds(listing):
    seed = next(price for price in listing.prices if price.model == "bytedance-seed/seed-2.0-code")
    assert (seed.prompt, seed.applies_below_prompt_tokens) == (Decimal("0.5"), 128_000)


def test_route_dependent_and_time_of_day_prices_are_skipped_with_the_reason(listing):
    skipped = {entry.model: entry.reason for entry in listing.skipped}
    assert set(skipped) == {"openrouter/auto", "deepseek/deepseek-v4-pro-0813"}
    assert "depends on the route" in skipped["openrouter/auto"]
    assert "hour of day" in skipped["deepseek/deepseek-v4-pro-0813"]
    assert len(listing.prices) + len(listing.skipped) == 9


def test_a_listed_discount_is_taken_off_the_rates():
    body = json.dumps({"data": [{"id": "a/b", "pricing": {"prompt": "0.000002", "completion": "0.000004", "discount": 0.25}}]})
    [price] = parse_model_list(body).prices
    assert (price.prompt, price.completion) == (Decimal("1.5"), Decimal("3"))


@pytest.mark.parametrize(
    ("pricing", "reason"),
    [
        ({"completion": "0.000001"}, "no prompt price"),
        ({"prompt": "-0.000001", "completion": "0.000001"}, "depends on the route"),
        ({"prompt": "NaN", "completion": "0.000001"}, "depends on the route"),
        ({"prompt": "free", "completion": "0.000001"}, "is not a price"),
        ({"prompt": True, "completion": "0.000001"}, "is not a price"),
        ({"prompt": "1" + "0" * 30, "completion": "0.000001"}, "too large"),
        ({"prompt": "0.000001", "completion": "0.000001", "discount": 2}, "discount"),
        ({"prompt": "0.000001", "completion": "0.000001", "overrides": "soon"}, "overrides"),
        ("0.000001", "no pricing"),
    ],
)
def test_an_unusable_price_skips_that_model_only(pricing, reason):
    body = json.dumps({"data": [{"id": "bad/model", "pricing": pricing}, {"id": "good/model", "pricing": {"prompt": "0", "completion": "0"}}]})
    listing = parse_model_list(body)
    assert [price.model for price in listing.prices] == ["good/model"]
    [skipped] = listing.skipped
    assert skipped.model == "bad/model" and reason in skipped.reason


def test_entries_without_a_usable_id_or_listed_twice_are_skipped():
    body = json.dumps({"data": [{"pricing": {}}, "text", {"id": "x" * 201}, {"id": "a/b", "pricing": {"prompt": "0", "completion": "0"}},
                                {"id": "a/b", "pricing": {"prompt": "1", "completion": "1"}}]})
    listing = parse_model_list(body)
    assert [(price.model, price.prompt) for price in listing.prices] == [("a/b", Decimal(0))]
    assert len(listing.skipped) == 4


@pytest.mark.parametrize("body", ["<html>", "[]", '{"models": []}', '{"data": {}}'])
def test_an_answer_that_is_not_a_model_list_is_a_bad_payload(body):
    with pytest.raises(BadPayload):
        parse_model_list(body)


def test_the_simulator_serves_a_model_list_over_http(gateway_simulator):
    httpx.post(f"{gateway_simulator.url}/_sim/models", json=DEFAULT_MODELS).raise_for_status()
    listing = fetch_model_list(base_url=gateway_simulator.base_url("openrouter"))
    prices = {price.model: price for price in listing.prices}
    assert prices["openai/gpt-4o-mini"].prompt == Decimal("0.15")
    assert [entry.model for entry in listing.skipped] == ["openrouter/auto"]


def test_a_gateway_without_a_model_list_answers_not_found(gateway_simulator):
    with pytest.raises(NotFound):
        fetch_model_list(base_url=gateway_simulator.base_url("kushrouter"))
