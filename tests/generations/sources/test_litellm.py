"""LiteLLM's own generic_api logger, pointed at a live Tally, logging real litellm calls to the
gateway simulator's OpenRouter chat endpoint; then reconciliation against the simulator (by a
real Celery worker, as in tests/billing/test_reconciliation_e2e.py, or `manage.py reconcile`)."""

import asyncio
import json
import os
import time
from decimal import Decimal

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

import litellm
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger
from litellm.litellm_core_utils.safe_json_dumps import safe_dumps

from generations.models import Generation
from tests.billing.test_reconciliation_e2e import sweep_until_done, workers  # noqa: F401
from tests.generations.sources.world import (
    assert_all_verified_against_the_simulator,
    bearer,
    other_team_key,
    reconcile_until_done,
    source_world_create,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MESSAGES = [{"role": "user", "content": "Say hello to the ledger"}]


def run_and_log(calls, *, endpoint: str, headers: dict, log_format: str = "json_array", resend: bool = False):
    """Make `calls` (coroutine factories) with litellm, wait for its logger to queue every
    payload, flush it to Tally; with `resend`, queue and send the same batch again. Returns the
    batch as LiteLLM logged it."""

    async def scenario():
        logger = GenericAPILogger(
            endpoint=endpoint, headers=headers, log_format=log_format, batch_size=1000, flush_interval=3600
        )
        litellm.callbacks = [logger]
        try:
            for call in calls:
                try:
                    await call()
                except litellm.AuthenticationError:  # the failed call is part of the batch
                    pass
            deadline = time.monotonic() + 20
            while len(logger.log_queue) < len(calls):
                assert time.monotonic() < deadline, f"litellm logged {len(logger.log_queue)} of {len(calls)} calls"
                await asyncio.sleep(0.05)
            batch = list(logger.log_queue)
            await logger.async_send_batch()
            assert not logger.log_queue
            if resend:
                logger.log_queue.extend(batch)
                await logger.async_send_batch()
            return batch
        finally:
            # LiteLLM keeps one logger of a kind in its global callback lists: forget this one,
            # which is bound to this event loop, so the next test's logger is the one called.
            litellm.logging_callback_manager._reset_all_callbacks()

    return asyncio.run(scenario())


def openrouter_call(simulator_url: str, secret: str, model: str = "openai/gpt-4o-mini", **extra):
    return lambda: litellm.acompletion(
        model=f"openrouter/{model}",
        messages=MESSAGES,
        api_base=f"{simulator_url}/openrouter/api/v1",
        api_key=secret,
        **extra,
    )


@pytest.mark.redis
@pytest.mark.slow
def test_a_mixed_batch_records_the_openrouter_calls_skips_the_rest_and_resending_it_creates_nothing(
    live_server,
    gateway_simulator,
    workers,  # noqa: F811 (the fixture, imported above)
):
    world = source_world_create(simulator_url=gateway_simulator.url)
    secret = world.secrets["main"]
    gateway_simulator.configure(keys=[secret])
    endpoint = f"{live_server.url}/api/v1/integrations/litellm/"
    headers = {**bearer(world.token), "X-Tally-Api-Key": world.keys["main"].slug}
    calls = [
        openrouter_call(gateway_simulator.url, secret),
        openrouter_call(gateway_simulator.url, secret, model="anthropic/claude-3.5-haiku"),
        openrouter_call(gateway_simulator.url, secret),
        # OpenAI directly (not through a gateway): litellm's own mock answer, no network.
        lambda: litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="hi", api_key="sk-x"),
        # A failed call: the gateway refuses the key.
        openrouter_call(gateway_simulator.url, "sk-or-v1-revoked"),
    ]

    batch = run_and_log(calls, endpoint=endpoint, headers=headers, resend=True)

    openrouter_ids = {
        payload["id"]
        for payload in batch
        if payload["custom_llm_provider"] == "openrouter" and payload["status"] == "success"
    }
    assert len(openrouter_ids) == 3 and all(generation_id.startswith("gen-") for generation_id in openrouter_ids)
    stored = {generation.external_id: generation for generation in Generation.objects.all()}
    assert set(stored) == openrouter_ids  # created once, though the batch was sent twice
    by_id = {payload["id"]: payload for payload in batch}
    for generation_id, generation in stored.items():
        payload = by_id[generation_id]
        assert generation.api_key_id == world.keys["main"].pk
        # Exactly the number the logger wrote (json.dumps writes a float's shortest repr).
        assert generation.cost == Decimal(json.dumps(payload["response_cost"])) > 0
        assert generation.tokens_prompt == payload["prompt_tokens"]
        assert generation.model == payload["hidden_params"]["litellm_model_name"].removeprefix("openrouter/")
        assert generation.model in ("openai/gpt-4o-mini", "anthropic/claude-3.5-haiku")
        assert abs(generation.created_at.timestamp() - payload["startTime"]) < 0.001

    # The same body once more, as the logger sends it: the answer says what was skipped and why.
    answer = httpx.post(endpoint, content=safe_dumps(batch), headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["received"], result["created"], result["duplicates"], result["skipped"]) == (5, 0, 3, 2)
    assert result["skipped_reasons"] == {
        "failed call (status 'failure')": 1,
        "provider 'openai' is not a gateway Tally tracks": 1,
    }

    workers.start()
    sweep_until_done(timeout=120)
    assert_all_verified_against_the_simulator(openrouter_ids)


@pytest.mark.parametrize("log_format", ["ndjson", "single"])
def test_every_log_format_is_understood(live_server, gateway_simulator, log_format):
    world = source_world_create(simulator_url=gateway_simulator.url)
    secret = world.secrets["main"]
    headers = {**bearer(world.token), "X-Tally-Api-Key": world.keys["main"].slug}
    calls = [openrouter_call(gateway_simulator.url, secret) for _ in range(3)]

    batch = run_and_log(
        calls, endpoint=f"{live_server.url}/api/v1/integrations/litellm/", headers=headers, log_format=log_format
    )

    assert set(Generation.objects.values_list("external_id", flat=True)) == {payload["id"] for payload in batch}


def test_a_router_with_two_openrouter_keys_writes_each_call_to_the_key_of_its_deployment(
    live_server, gateway_simulator
):
    world = source_world_create(
        simulator_url=gateway_simulator.url,
        key_names=("fast", "smart"),
        fast={"litellm_models": ["fast"]},
        smart={"litellm_models": ["smart"]},
    )
    stranger = other_team_key(world, litellm_models=["fast", "smart"])
    gateway_simulator.configure(keys=list(world.secrets.values()))
    api_base = f"{gateway_simulator.url}/openrouter/api/v1"
    model_list = [
        {
            "model_name": name,
            "litellm_params": {"model": f"openrouter/{model}", "api_base": api_base, "api_key": world.secrets[name]},
        }
        for name, model in (("fast", "openai/gpt-4o-mini"), ("smart", "anthropic/claude-3.5-haiku"))
    ]
    routers: list[litellm.Router] = []  # made inside the event loop, once the logger is registered

    def call(name: str):
        if not routers:
            routers.append(litellm.Router(model_list=model_list))
        return routers[0].acompletion(model=name, messages=MESSAGES)

    calls = [lambda name=name: call(name) for name in ("fast", "smart", "fast")]

    batch = run_and_log(calls, endpoint=f"{live_server.url}/api/v1/integrations/litellm/", headers=bearer(world.token))

    keys_by_id = dict(Generation.objects.values_list("external_id", "api_key__slug"))
    assert keys_by_id == {payload["id"]: world.keys[payload["model_group"]].slug for payload in batch}
    assert not Generation.objects.filter(api_key=stranger).exists()
    reconcile_until_done()
    assert_all_verified_against_the_simulator(set(keys_by_id))
