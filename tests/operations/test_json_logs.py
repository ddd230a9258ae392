"""JSON logs: one object a line with the generation, gateway and key where they apply, and
never a secret, even when a gateway refuses a key and every failure is logged."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from operations.logs import JsonFormatter
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_a_refused_key_and_failing_lookups_log_json_lines_with_context_and_no_secret(gateway_simulator, json_log, settings):
    settings.ADMINS = [("", "ops@example.com")]
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=3600, tag="log")
    plans = plan_generations(world, count=30, plant_share=0, seed=2, now=timezone.now(), scripts=False)
    refused = [plan for plan in plans if plan.key_name == "fastrouter" and plan.spec][:1]
    failing = [plan for plan in plans if plan.key_name == "openrouter" and plan.spec][:2]
    refused[0].spec["script"] = ["401"]
    for plan in failing:
        plan.spec["script"] = ["500", "ok"]
    gateway_simulator.add_records([plan.spec for plan in refused + failing])
    generations_store(world, refused + failing)

    for claim in generations_claim_due(now=timezone.now() + timedelta(minutes=1)):
        generations_reconcile(claim=claim)

    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    paused = [line for line in lines if "paused" in line["message"] and line["level"] == "ERROR"]
    assert paused and paused[0]["api_key"] == world.keys["fastrouter"].slug
    failed = [line for line in lines if line["message"].startswith("Lookup of") and "500" in line["message"]]
    assert {line["generation"] for line in failed} == {plan.external_id for plan in failing}
    assert {line["gateway"] for line in failed} == {world.keys["openrouter"].gateway.slug}
    text = json_log.getvalue()
    for secret in world.secrets.values():
        assert secret not in text
        assert secret[-12:] not in text


def test_values_that_look_like_secrets_are_masked(json_log):
    logging.getLogger("tally.test").warning(
        "sent Authorization: Bearer sk-or-v1-abcdef0123456789 to https://hooks.slack.com/services/T0/B0/xyz",
        extra={"password": "hunter2", "gateway": "openrouter"},
    )
    [line] = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert "sk-or-v1-abcdef0123456789" not in line["message"] and "hooks.slack.com" not in line["message"]
    assert line["password"] == "[redacted]" and line["gateway"] == "openrouter"
