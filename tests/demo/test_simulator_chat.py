"""The simulator's OpenRouter chat endpoint: it answers like OpenRouter and records the generation
so that the gateway adapter's lookup, with the same key, finds it."""

from decimal import Decimal

import httpx

from generations.gateways.base import GatewayGenerationRecord, LookupRequest, Unauthorised
from generations.gateways.client import GatewayConnection
from lib.exact_json import loads_exact
from tests.generations.gateway_helpers import lookup_batch_sync

BODY = {"model": "anthropic/claude-3.5-haiku", "messages": [{"role": "user", "content": "two words"}]}


def test_a_completion_has_a_gen_id_and_usage_with_cost_and_the_lookup_finds_it(gateway_simulator):
    answer = httpx.post(
        f"{gateway_simulator.url}/openrouter/api/v1/chat/completions",
        json=BODY,
        headers={"Authorization": "Bearer sk-or-v1-a"},
    )

    assert answer.status_code == 200
    completion = loads_exact(answer.text)
    usage = completion["usage"]
    assert completion["id"].startswith("gen-") and completion["model"] == BODY["model"]
    assert completion["choices"][0]["message"]["role"] == "assistant"
    # 0.80 and 4.00 USD per million prompt and completion tokens (the simulator's price list)
    assert (
        usage["cost"] == (usage["prompt_tokens"] * Decimal("0.80") + usage["completion_tokens"] * Decimal(4)) / 10**6
    )
    connection = GatewayConnection(kind="openrouter", base_url=gateway_simulator.base_url("openrouter"))
    found, other_key = lookup_batch_sync(
        connection, [LookupRequest(completion["id"], "sk-or-v1-a"), LookupRequest(completion["id"], "sk-or-v1-b")]
    )
    assert isinstance(found, GatewayGenerationRecord)
    assert (found.total_cost, found.tokens_prompt, found.served_model) == (
        usage["cost"],
        usage["prompt_tokens"],
        BODY["model"],
    )
    assert isinstance(other_key, Unauthorised)  # another key of no record: refused, as OpenRouter does


def test_it_needs_a_key_and_a_model_and_messages(gateway_simulator):
    url = f"{gateway_simulator.url}/openrouter/api/v1/chat/completions"
    assert httpx.post(url, json=BODY).status_code == 401
    assert httpx.post(url, json={"model": "x"}, headers={"Authorization": "Bearer k"}).status_code == 400
    gateway_simulator.configure(keys=["sk-known"])
    assert httpx.post(url, json=BODY, headers={"Authorization": "Bearer sk-unknown"}).status_code == 401
    assert gateway_simulator.stats()["records"] == 0
