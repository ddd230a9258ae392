"""The official `openrouter` Python SDK as a client of the simulator: every kind of answer it
gives parses with the SDK's own schema (ok, a response-cache hit, 404, 429 with Retry-After,
401, 402, 5xx), so the simulator speaks today's OpenRouter protocol."""

import pytest
from openrouter import OpenRouter, errors
from openrouter.utils import BackoffStrategy, RetryConfig

from demo.simulator.protocol import OPENROUTER_REQUIRED_NULLABLE
from tests.generations.gateway_helpers import KEY, body_for, spec_for

# The SDK retries 5xx by default; the script answers the error once, so ask once.
NO_RETRIES = RetryConfig("none", BackoffStrategy(1, 1, 1, 1), False)


@pytest.fixture
def sdk(gateway_simulator):
    client = OpenRouter(api_key=KEY, server_url=gateway_simulator.base_url("openrouter") + "/api/v1")
    yield client


def test_the_sdk_parses_an_ordinary_answer_with_every_required_key(sdk, gateway_simulator):
    spec = spec_for("openrouter", "gen-sdk-ok", body=body_for("openrouter", "gen-sdk-ok"))
    gateway_simulator.add_records([spec])

    answer = sdk.generations.get_generation(id="gen-sdk-ok")

    data = answer.data
    assert data.id == "gen-sdk-ok"
    assert data.total_cost == pytest.approx(0.00036)
    assert data.upstream_inference_cost == pytest.approx(0.00036)  # not BYOK: equal to total_cost
    assert data.provider_responses and data.provider_responses[-1].status == 200
    assert set(OPENROUTER_REQUIRED_NULLABLE) <= set(spec["body"])


def test_the_sdk_parses_a_fallback_and_a_response_cache_hit(sdk, gateway_simulator):
    from datetime import UTC, datetime
    from decimal import Decimal

    from demo.simulator.records import sample_body

    common = dict(model="openai/gpt-4o-mini", provider="OpenAI", created_at=datetime(2026, 3, 2, tzinfo=UTC),
                  tokens_prompt=100, tokens_completion=20, cost=Decimal("0.0001"))
    fallback = sample_body("openrouter", generation_id="gen-fallback", fallback_from="Azure", **common)
    cached = sample_body("openrouter", generation_id="gen-cached", response_cache_source_id="gen-fallback", **common)
    gateway_simulator.add_records(
        [spec_for("openrouter", "gen-fallback", body=fallback), spec_for("openrouter", "gen-cached", body=cached)]
    )

    attempts = sdk.generations.get_generation(id="gen-fallback").data.provider_responses
    hit = sdk.generations.get_generation(id="gen-cached").data

    assert [attempt.status for attempt in attempts] == [429, 200]
    assert hit.response_cache_source_id == "gen-fallback"
    assert (hit.total_cost, hit.native_tokens_prompt, hit.native_tokens_completion) == (0, 0, 0)


def test_the_sdk_reads_a_404(sdk):
    with pytest.raises(errors.NotFoundResponseError) as raised:
        sdk.generations.get_generation(id="gen-nobody-made")
    assert raised.value.data.error.code == 404


def test_the_sdk_reads_a_429_and_its_retry_after(sdk, gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-busy", script=["429:7"])])

    with pytest.raises(errors.TooManyRequestsResponseError) as raised:
        sdk.generations.get_generation(id="gen-busy")

    assert raised.value.data.error.code == 429
    assert raised.value.raw_response.headers["Retry-After"] == "7"


def test_the_sdk_reads_a_401(gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-private")])  # the simulator now knows KEY only
    stranger = OpenRouter(api_key="sk-nobody", server_url=gateway_simulator.base_url("openrouter") + "/api/v1")

    with pytest.raises(errors.UnauthorizedResponseError) as raised:
        stranger.generations.get_generation(id="gen-private")

    assert raised.value.data.error.code == 401


def test_the_sdk_reads_a_402_with_and_without_retry_after(sdk, gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-budget", script=["402:3"])])

    with pytest.raises(errors.PaymentRequiredResponseError) as budget:
        sdk.generations.get_generation(id="gen-budget")
    gateway_simulator.configure(payment_required=True)
    with pytest.raises(errors.PaymentRequiredResponseError) as broke:
        sdk.generations.get_generation(id="gen-budget")

    assert budget.value.raw_response.headers["Retry-After"] == "3"
    assert "retry-after" not in broke.value.raw_response.headers
    assert broke.value.data.error.code == 402


@pytest.mark.parametrize(("step", "error"), [("500", errors.InternalServerResponseError),
                                              ("502", errors.BadGatewayResponseError),
                                              ("524", errors.EdgeNetworkTimeoutResponseError),
                                              ("529", errors.ProviderOverloadedResponseError)])
def test_the_sdk_reads_server_errors(sdk, gateway_simulator, step, error):
    gateway_simulator.add_records([spec_for("openrouter", f"gen-{step}", script=[step])])

    with pytest.raises(error) as raised:
        sdk.generations.get_generation(id=f"gen-{step}", retries=NO_RETRIES)

    assert raised.value.data.error.code == int(step)
