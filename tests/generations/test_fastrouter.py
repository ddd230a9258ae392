"""FastRouter adapter against the simulator over HTTP on loopback."""

from decimal import Decimal

import pytest

from generations.gateways.base import BadPayload, GatewayGenerationRecord
from tests.generations.gateway_helpers import body_for, lookup_one, spec_for


def test_it_reads_a_normal_record(gateway_simulator):
    gateway_simulator.add_records([spec_for("fastrouter", "fr-normal")])
    record = lookup_one(gateway_simulator, "fastrouter", "fr-normal")
    assert isinstance(record, GatewayGenerationRecord)
    assert record.credits_used == Decimal("0.00036")
    assert record.total_cost is None
    assert (record.tokens_prompt, record.tokens_completion) == (1200, 300)
    assert record.key_hash == "hash-of-key-a"
    assert record.served_model == "openai/gpt-4o-mini"
    assert record.is_byok is False
    assert record.created_at is not None


def test_it_accepts_an_answer_with_every_field_missing(gateway_simulator):
    gateway_simulator.add_records([spec_for("fastrouter", "fr-empty", body={})])
    record = lookup_one(gateway_simulator, "fastrouter", "fr-empty")
    assert isinstance(record, GatewayGenerationRecord)
    assert record.id == "fr-empty"  # the id that was asked for
    assert record.credits_used is None and record.tokens_prompt is None and record.key_hash == ""


@pytest.mark.parametrize("field", sorted(body_for("fastrouter", "x")))
def test_it_accepts_null_in_each_field(gateway_simulator, field):
    gateway_simulator.add_records([spec_for("fastrouter", "fr-null", body=body_for("fastrouter", "fr-null", **{field: None}))])
    assert isinstance(lookup_one(gateway_simulator, "fastrouter", "fr-null"), GatewayGenerationRecord)


def test_it_keeps_unknown_fields_and_17_decimal_places(gateway_simulator):
    body = body_for("fastrouter", "fr-exact", credits_used=Decimal("0.12345678901234567"), tier={"name": "gold"})
    gateway_simulator.add_records([spec_for("fastrouter", "fr-exact", body=body)])
    record = lookup_one(gateway_simulator, "fastrouter", "fr-exact")
    assert record.credits_used == Decimal("0.12345678901234567")
    assert '"tier": {"name": "gold"}' in record.raw


def test_it_refuses_a_number_where_the_key_hash_belongs(gateway_simulator):
    gateway_simulator.add_records([spec_for("fastrouter", "fr-odd", body=body_for("fastrouter", "fr-odd", api_key=12345))])
    outcome = lookup_one(gateway_simulator, "fastrouter", "fr-odd")
    assert isinstance(outcome, BadPayload)
    assert "api_key" in str(outcome)
