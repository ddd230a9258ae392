"""KushRouter adapter against the simulator over HTTP on loopback."""

import pytest

from generations.gateways.base import BadPayload, GatewayGenerationRecord, NotFound, Unauthorised
from tests.generations.gateway_helpers import KEY, body_for, lookup_one, spec_for


def test_it_reads_a_normal_record_with_cache_and_reasoning_tokens(gateway_simulator):
    body = body_for("kushrouter", "chatcmpl-1")
    body["usage"]["cache_creation_input_tokens"] = 64
    gateway_simulator.add_records([spec_for("kushrouter", "chatcmpl-1", body=body)])
    record = lookup_one(gateway_simulator, "kushrouter", "chatcmpl-1")
    assert isinstance(record, GatewayGenerationRecord)
    assert (record.tokens_prompt, record.tokens_completion) == (1200, 300)
    assert (record.tokens_cached, record.tokens_cache_write, record.tokens_reasoning) == (200, 64, 40)
    assert record.total_cost is None and record.credits_used is None
    assert record.streamed is True


def test_it_follows_the_307_alias_keeping_the_key(gateway_simulator):
    gateway_simulator.add_records([spec_for("kushrouter", "chatcmpl-alias")])
    alias = gateway_simulator.base_url("kushrouter") + "/api/v1/generation"
    record = lookup_one(gateway_simulator, "kushrouter", "chatcmpl-alias", base_url=alias)
    assert isinstance(record, GatewayGenerationRecord)
    by_status = gateway_simulator.stats()["by_protocol"]["kushrouter"]
    assert by_status == {"307": 1, "200": 1}


def test_another_valid_key_cannot_read_the_generation(gateway_simulator):
    gateway_simulator.add_records(
        [spec_for("kushrouter", "chatcmpl-mine"), spec_for("kushrouter", "chatcmpl-theirs", key="sk-test-key-b")]
    )
    assert isinstance(lookup_one(gateway_simulator, "kushrouter", "chatcmpl-mine"), GatewayGenerationRecord)
    assert isinstance(lookup_one(gateway_simulator, "kushrouter", "chatcmpl-mine", key="sk-test-key-b"), NotFound)


def test_an_unknown_key_is_unauthorised(gateway_simulator):
    gateway_simulator.add_records([spec_for("kushrouter", "chatcmpl-x")])
    outcome = lookup_one(gateway_simulator, "kushrouter", "chatcmpl-x", key="sk-revoked")
    assert isinstance(outcome, Unauthorised)
    assert outcome.permanent


@pytest.mark.parametrize(
    "raw_body, error",
    [
        ('{"success": false, "error": "Generation not found"}', NotFound),
        ('{"success": false, "error": "internal"}', BadPayload),
        ('{"success": true}', BadPayload),
        ('{"success": "yes", "generation": {}}', BadPayload),
        ('{"success": true, "generation": {"id": "chatcmpl-y", "usage": {"prompt_tokens": "many"}}}', BadPayload),
    ],
)
def test_an_unsuccessful_or_malformed_answer_is_an_error_not_a_record(gateway_simulator, raw_body, error):
    gateway_simulator.add_records([spec_for("kushrouter", "chatcmpl-y", raw_body=raw_body)])
    assert type(lookup_one(gateway_simulator, "kushrouter", "chatcmpl-y", key=KEY)) is error
