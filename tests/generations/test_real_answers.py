"""The adapters on answers real gateways give: recorded bodies (documentation examples and public
captures, tests/fixtures/gateways/README.md says where each comes from) and the simulator over
HTTP. Nothing a gateway means honestly is refused or misread."""

import asyncio
import json
import time
from decimal import Decimal

import httpx
import pytest

from generations.gateways import fastrouter, openrouter
from generations.gateways.base import (
    BadPayload,
    GatewayGenerationRecord,
    LookupRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    RefusedLookup,
)
from generations.gateways.client import GatewayConnection, RateLimitWindow, lookup_batch
from generations.gateways.http import GatewayAnswer, RateLimitHeaders, raise_for_status
from tests.generations.gateway_helpers import KEY, body_for, fixture_text, lookup_one, spec_for


def answer(status: int, body: str = "", **headers: str) -> GatewayAnswer:
    return GatewayAnswer(status_code=status, headers=httpx.Headers(headers), body=body)


def test_a_captured_openrouter_answer_is_read_as_sent():
    # A cancelled stream from a public project; upstream_inference_cost is 0 on a call that is not BYOK.
    record = openrouter.parse_body(fixture_text("openrouter_captured_cancelled_stream.json"))

    assert record.id == "gen-1771967973-0hZ8J5kY7qLMOKbPx0u3"
    assert (record.total_cost, record.usage, record.upstream_inference_cost) == (
        Decimal("0.00003452"), Decimal("0.00003452"), Decimal("0")
    )
    assert (record.tokens_prompt, record.tokens_completion, record.cancelled) == (64, 98, True)
    assert record.finish_reason == "" and record.provider == "DeepInfra"


def test_the_documented_openrouter_example_is_read():
    record = openrouter.parse_body(fixture_text("openrouter_generation.json"))
    assert isinstance(record, GatewayGenerationRecord) and record.total_cost is not None


def test_a_display_field_out_of_range_is_set_aside_and_the_record_used():
    data = json.loads(fixture_text("openrouter_captured_cancelled_stream.json"))
    data["data"].update(latency=-12, num_media_completion=-1, generation_time="soon")

    record = openrouter.parse_body(json.dumps(data))

    assert record.latency_ms is None
    assert record.extra["set_aside"] == "num_media_completion, generation_time, latency"
    assert "num_media_completion" not in record.extra
    assert record.total_cost == Decimal("0.00003452")


def test_a_field_the_rules_need_out_of_range_still_makes_the_record_unreadable():
    data = json.loads(fixture_text("openrouter_captured_cancelled_stream.json"))
    data["data"]["native_tokens_prompt"] = -64
    with pytest.raises(BadPayload):
        openrouter.parse_body(json.dumps(data))


def test_a_compatible_gateway_without_is_byok_leaves_it_unknown():
    data = json.loads(fixture_text("openrouter_compatible_generation.json"))
    del data["data"]["is_byok"]
    assert openrouter.parse_body(json.dumps(data)).is_byok is None


def test_a_cache_hit_names_its_source_generation(gateway_simulator):
    body = body_for("openrouter", "gen-hit")
    body["response_cache_source_id"] = "gen-original"
    gateway_simulator.add_records([spec_for("openrouter", "gen-hit", body=body)])
    assert lookup_one(gateway_simulator, "openrouter", "gen-hit").extra["response_cache_source_id"] == "gen-original"


def test_the_documented_fastrouter_example_is_read():
    record = fastrouter.parse_body(fixture_text("fastrouter_generation.json"))
    assert (record.credits_used, record.key_hash, record.tokens_prompt) == (Decimal("0.000609"), "API-KEY-HASH", 14)


@pytest.mark.parametrize(
    ("status", "error"), [(404, NotFound), (400, RefusedLookup), (402, PaymentRequired)]
)
def test_fastrouter_error_bodies_are_read(status, error):
    body = fixture_text(f"fastrouter_error_{status}.json")
    with pytest.raises(error) as raised:
        raise_for_status(answer(status, body))
    assert json.loads(body)["error"]["message"] in str(raised.value)


def test_a_402_with_retry_after_is_a_wait_not_a_pause():
    with pytest.raises(RateLimited) as raised:
        raise_for_status(answer(402, '{"error": {"code": 402, "message": "budget"}}', **{"Retry-After": "3"}))
    assert (raised.value.retry_after, raised.value.status_code) == (3.0, 402)


def test_a_429_without_retry_after_waits_until_the_rate_limit_resets():
    reset_ms = str(int((time.time() + 20) * 1000))
    with pytest.raises(RateLimited) as raised:
        raise_for_status(answer(429, "{}", **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_ms}))
    assert 15 <= raised.value.retry_after <= 20


def test_rate_limit_headers_in_seconds_or_milliseconds_since_the_epoch_or_from_now():
    now = time.time()
    for reset in (str(int(now + 30)), str(int((now + 30) * 1000)), "30"):
        headers = RateLimitHeaders.of(httpx.Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
        assert headers.exhausted and 25 <= headers.seconds_until_reset() <= 30


def test_a_batch_slows_down_before_it_is_refused():
    window = RateLimitWindow()
    window.note(answer(200, "{}", **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0.3"}))
    started = time.monotonic()
    asyncio.run(window.wait())
    waited_when_exhausted = time.monotonic() - started
    fresh = RateLimitWindow()
    fresh.note(answer(200, "{}", **{"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "30"}))
    started = time.monotonic()
    asyncio.run(fresh.wait())
    assert waited_when_exhausted >= 0.25
    assert time.monotonic() - started < 0.2


def test_the_lookup_path_is_part_of_the_gateway_configuration(gateway_simulator):
    # A compatible gateway answering at /v1/generation: the simulator's OpenRouter under /api.
    gateway_simulator.add_records([spec_for("openrouter", "gen-compat")])
    connection = GatewayConnection(
        kind="openrouter", base_url=gateway_simulator.base_url("openrouter") + "/api", lookup_path="/v1/generation"
    )
    [outcome] = asyncio.run(lookup_batch(connection, [LookupRequest(generation_id="gen-compat", secret=KEY)]))
    assert isinstance(outcome, GatewayGenerationRecord) and outcome.id == "gen-compat"
