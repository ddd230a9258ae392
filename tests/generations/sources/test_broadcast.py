"""OpenRouter Broadcast's Webhook destination against the OTLP receiver: its test-connection ping,
a delivery as OpenRouter documents it (tests/fixtures/sources/), by PUT and by POST with gzip;
then reconciliation against the simulator's record of the same generation."""

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from demo.simulator.records import sample_body
from generations.models import Generation
from tests.generations.sources.world import (
    assert_all_verified_against_the_simulator,
    bearer,
    other_team_key,
    reconcile_until_done,
    source_world_create,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVERY = (Path(__file__).parents[2] / "fixtures" / "sources" / "openrouter_broadcast_trace.json").read_bytes()
GENERATION_ID = "gen-1764547200-BroadcastRoot0001"


@pytest.fixture
def world(gateway_simulator):
    world = source_world_create(simulator_url=gateway_simulator.url, main={"broadcast_key_name": "agents-prod"})
    created_at = datetime.fromtimestamp(1764547200, tz=UTC)
    body = sample_body(
        "openrouter",
        generation_id=GENERATION_ID,
        model="openai/gpt-4o-mini",
        provider="OpenAI",
        created_at=created_at,
        tokens_prompt=1200,
        tokens_completion=340,
        cost=Decimal("0.000384"),
    )
    gateway_simulator.add_records(
        [
            {
                "protocol": "openrouter",
                "id": GENERATION_ID,
                "key": world.secrets["main"],
                "created_at": created_at.isoformat(),
                "body": body,
            }
        ]
    )
    return world


def test_the_test_connection_ping_is_answered_and_writes_nothing(live_server, world):
    for method, body in (("POST", b""), ("PUT", b'{"resourceSpans": []}')):
        answer = httpx.request(
            method,
            f"{live_server.url}/otlp/v1/traces",
            content=body,
            headers={**bearer(world.token), "Content-Type": "application/json", "X-Test-Connection": "true"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {}
    assert not Generation.objects.exists()


def test_the_ping_without_a_valid_token_fails_the_test(live_server, world):
    answer = httpx.post(
        f"{live_server.url}/otlp/v1/traces",
        content=b"",
        headers={
            "Authorization": "Bearer not-a-token",
            "Content-Type": "application/json",
            "X-Test-Connection": "true",
        },
    )
    assert answer.status_code == 401


def test_a_delivery_records_the_root_span_of_the_declared_key_and_reconciles(live_server, world):
    stranger = other_team_key(world, broadcast_key_name="someone-elses-key")
    headers = {**bearer(world.token), "Content-Type": "application/json", "X-Webhook-Signature": "custom-header"}

    answer = httpx.put(f"{live_server.url}/otlp/v1/traces", content=DELIVERY, headers=headers)

    assert answer.status_code == 200, answer.text
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] in (1, "1")  # the other key's request; children are not rejected
    assert "no key of this team maps it" in partial["errorMessage"]
    assert "an OpenRouter child span that repeats its root span (2)" in partial["errorMessage"]
    generation = Generation.objects.get()
    assert (generation.external_id, generation.api_key_id) == (GENERATION_ID, world.keys["main"].pk)
    assert generation.cost == Decimal("0.000384")
    assert (generation.tokens_prompt, generation.tokens_completion, generation.tokens_cached) == (1200, 340, 0)
    assert generation.created_at == datetime.fromtimestamp(1764547200, tz=UTC)
    assert not Generation.objects.filter(api_key=stranger).exists()

    again = httpx.post(
        f"{live_server.url}/otlp/v1/traces",
        content=gzip.compress(DELIVERY),
        headers={**headers, "Content-Encoding": "gzip"},
    )
    assert again.status_code == 200, again.text
    assert Generation.objects.count() == 1

    reconcile_until_done()
    assert_all_verified_against_the_simulator({GENERATION_ID})


def test_a_body_that_is_not_an_export_is_a_400_with_a_status_and_changes_nothing(live_server, world):
    answer = httpx.post(
        f"{live_server.url}/otlp/v1/traces",
        content=b'{"resourceSpans": {"not": "a list"}}',
        headers={**bearer(world.token), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert json.loads(answer.text)["code"] == 3
    assert not Generation.objects.exists()
