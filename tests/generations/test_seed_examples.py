"""The gateways' documented example answers parse into the values they show."""

from datetime import datetime, timezone
from decimal import Decimal

from generations.gateways import fastrouter, kushrouter, openrouter
from tests.generations.gateway_helpers import fixture_text


def test_it_reads_openrouters_documented_answer():
    body = fixture_text("openrouter_generation.json")
    record = openrouter.parse_body(body)
    assert record.id == "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG"
    assert record.served_model == "sao10k/l3-stheno-8b"
    assert record.provider == "Infermatic"
    assert record.created_at == datetime(2024, 7, 15, 23, 33, 19, 433273, tzinfo=timezone.utc)
    assert record.total_cost == Decimal("0.0015")
    assert record.usage == Decimal("0.0015")
    assert record.upstream_inference_cost == Decimal("0.0012")
    assert record.cache_discount is None
    assert (record.tokens_prompt, record.tokens_completion, record.tokens_cached, record.tokens_reasoning) == (
        10,
        25,
        3,
        5,
    )
    assert record.tokens_cache_write is None
    assert (record.is_byok, record.cancelled, record.streamed) == (False, False, True)
    assert record.finish_reason == "stop"
    assert record.latency_ms == 1250
    assert record.extra["upstream_id"] == "chatcmpl-791bcf62-080e-4568-87d0-94c72e3b4946"
    assert record.extra["request_id"] == "req-1727282430-aBcDeFgHiJkLmNoPqRsT"
    assert record.raw == body


def test_it_reads_an_openrouter_compatible_gateways_subset_of_fields():
    record = openrouter.parse_body(fixture_text("openrouter_compatible_generation.json"))
    assert record.id == "string"
    assert record.total_cost == record.usage == record.cache_discount == Decimal("1.1")
    assert record.upstream_inference_cost == Decimal("1.1")
    assert record.is_byok is True
    assert record.tokens_cached is None
    assert record.tokens_reasoning == 1


def test_it_reads_kushrouters_documented_answer():
    record = kushrouter.parse_body(fixture_text("kushrouter_generation.json"))
    assert record.id == "chatcmpl-1731753062-2q7nyc"
    assert record.served_model == "gpt-5-mini-2025-08-07"
    assert record.created_at == datetime.fromtimestamp(1731753062, tz=timezone.utc)
    assert (record.tokens_prompt, record.tokens_completion) == (121, 345)
    assert (record.tokens_cached, record.tokens_cache_write) == (0, 0)
    assert record.streamed is True
    assert record.finish_reason == "stop"
    assert record.total_cost is None and record.credits_used is None
    assert record.extra["apiKeyId"] == "ak_..."


def test_it_reads_fastrouters_documented_fields():
    record = fastrouter.parse_body(fixture_text("fastrouter_generation.json"))
    assert record.id == "transaction_id"
    assert record.served_model == "openai/gpt-3.5-turbo"
    assert record.provider == "openai"
    assert record.key_hash == "API-KEY-HASH"
    assert record.credits_used == Decimal("0.000609")
    assert record.created_at == datetime(2025, 5, 6, 13, 51, 2, 889000, tzinfo=timezone.utc)
    assert (record.tokens_prompt, record.tokens_completion) == (14, 105)
    assert record.is_byok is False
    assert record.latency_ms == 2115  # 0.0352454... minutes


def test_it_keeps_every_amount_as_an_exact_decimal():
    record = openrouter.parse_body(fixture_text("openrouter_generation.json"))
    for amount in (record.total_cost, record.usage, record.upstream_inference_cost):
        assert type(amount) is Decimal
    # 0.1 + 0.2 is 0.30000000000000004 in float; in these Decimals it is exact.
    assert record.total_cost + record.upstream_inference_cost == Decimal("0.0027")
