"""OpenRouter adapter against the simulator over HTTP on loopback."""

from decimal import Decimal

import pytest

from generations.gateways.base import BadPayload, GatewayGenerationRecord
from tests.generations.gateway_helpers import body_for, lookup_one, spec_for

NULLABLE_FIELDS = (
    "upstream_id",
    "cache_discount",
    "upstream_inference_cost",
    "app_id",
    "streamed",
    "cancelled",
    "provider_name",
    "latency",
    "moderation_latency",
    "generation_time",
    "finish_reason",
    "native_finish_reason",
    "tokens_prompt",
    "tokens_completion",
    "native_tokens_prompt",
    "native_tokens_completion",
    "native_tokens_completion_images",
    "native_tokens_reasoning",
    "native_tokens_cached",
    "num_media_prompt",
    "num_input_audio_prompt",
    "num_media_completion",
    "num_search_results",
    "external_user",
    "api_type",
    "router",
    "provider_responses",
    "user_agent",
    "http_referer",
    "request_id",
    "session_id",
)


def test_it_reads_a_normal_record(gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-normal")])
    record = lookup_one(gateway_simulator, "openrouter", "gen-normal")
    assert isinstance(record, GatewayGenerationRecord)
    assert record.id == "gen-normal"
    assert record.served_model == "openai/gpt-4o-mini"
    assert record.provider == "OpenAI"
    assert record.total_cost == record.usage == Decimal("0.00036")
    assert (record.tokens_prompt, record.tokens_completion, record.tokens_cached, record.tokens_reasoning) == (
        1200,
        300,
        200,
        40,
    )
    assert record.is_byok is False
    assert '"id": "gen-normal"' in record.raw


@pytest.mark.parametrize("field", NULLABLE_FIELDS)
def test_it_accepts_null_in_each_nullable_field(gateway_simulator, field):
    gateway_simulator.add_records([spec_for("openrouter", "gen-null", body=body_for("openrouter", "gen-null", **{field: None}))])
    record = lookup_one(gateway_simulator, "openrouter", "gen-null")
    assert isinstance(record, GatewayGenerationRecord), record
    assert record.total_cost == Decimal("0.00036")


def test_it_reads_byok_costs_with_null_cache_discount(gateway_simulator):
    body = body_for(
        "openrouter", "gen-byok", is_byok=True, total_cost=Decimal("0.000018"), usage=Decimal("0.000018"),
        upstream_inference_cost=Decimal("0.00036"), cache_discount=Decimal("-0.00001"),
    )
    gateway_simulator.add_records([spec_for("openrouter", "gen-byok", body=body)])
    record = lookup_one(gateway_simulator, "openrouter", "gen-byok")
    assert record.is_byok is True
    assert record.upstream_inference_cost == Decimal("0.00036")
    assert record.cache_discount == Decimal("-0.00001")


def test_it_keeps_unknown_fields_in_the_raw_body(gateway_simulator):
    body = body_for("openrouter", "gen-new", data_region="eu", brand_new_field={"nested": [1, 2]})
    gateway_simulator.add_records([spec_for("openrouter", "gen-new", body=body)])
    record = lookup_one(gateway_simulator, "openrouter", "gen-new")
    assert isinstance(record, GatewayGenerationRecord)
    assert '"brand_new_field": {"nested": [1, 2]}' in record.raw
    assert record.extra["data_region"] == "eu"


def test_it_keeps_a_cost_with_17_decimal_places_exact(gateway_simulator):
    amount = Decimal("0.00000000000000017")
    body = body_for("openrouter", "gen-tiny", total_cost=amount, usage=Decimal("0.10000000000000001"))
    gateway_simulator.add_records([spec_for("openrouter", "gen-tiny", body=body)])
    record = lookup_one(gateway_simulator, "openrouter", "gen-tiny")
    assert record.total_cost == amount
    assert record.usage == Decimal("0.10000000000000001")
    assert '"total_cost": 0.00000000000000017' in record.raw


@pytest.mark.parametrize(
    "field, value",
    [
        ("model", 42),  # a number where a string belongs
        ("total_cost", "lots"),
        ("total_cost", True),
        ("native_tokens_prompt", 12.5),
        ("native_tokens_prompt", -3),
        ("is_byok", "no"),
        ("created_at", "yesterday"),
        ("total_cost", None),  # never null, per OpenRouter's documentation
        ("id", None),
    ],
)
def test_it_refuses_a_field_of_the_wrong_type_as_bad_payload(gateway_simulator, field, value):
    body = body_for("openrouter", "gen-odd", **{field: value})
    gateway_simulator.add_records([spec_for("openrouter", "gen-odd", body=body)])
    outcome = lookup_one(gateway_simulator, "openrouter", "gen-odd")
    assert isinstance(outcome, BadPayload), outcome
    assert field in str(outcome)


@pytest.mark.parametrize("raw_body", ['{"data": "gen-shape"}', '[{"data": {}}]', '{"result": {}}', "null"])
def test_it_refuses_an_answer_of_the_wrong_shape(gateway_simulator, raw_body):
    gateway_simulator.add_records([spec_for("openrouter", "gen-shape", raw_body=raw_body)])
    assert isinstance(lookup_one(gateway_simulator, "openrouter", "gen-shape"), BadPayload)


def test_it_refuses_an_answer_about_another_generation(gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-asked", body=body_for("openrouter", "gen-other"))])
    outcome = lookup_one(gateway_simulator, "openrouter", "gen-asked")
    assert isinstance(outcome, BadPayload)
    assert "gen-other" in str(outcome)
