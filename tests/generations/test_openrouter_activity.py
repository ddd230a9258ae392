"""OpenRouter's keys and activity endpoints: the adapter on the documented example answers, on
the simulator over real HTTP, and the official openrouter SDK reading the simulator."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from demo.simulator.activity import key_label
from generations.gateways.base import BadPayload, RateLimited, TransientFailure, Unauthorised
from generations.gateways.openrouter_activity import fetch_activity, fetch_keys, parse_activity, parse_keys_page
from tests.generations.gateway_helpers import body_for, fixture_text

MANAGEMENT_KEY = "sk-or-v1-management-0000000000000000"
KEY_A = "sk-or-v1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111"
KEY_B = "sk-or-v1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2222"


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def record(generation_id: str, *, key: str, day: date, cost: str, model: str = "openai/gpt-4o-mini", **body):
    created_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    return {
        "protocol": "openrouter",
        "id": generation_id,
        "key": key,
        "created_at": created_at.isoformat(),
        "body": body_for("openrouter", generation_id, model=model, total_cost=Decimal(cost), usage=Decimal(cost), **body),
    }


@pytest.fixture
def account(gateway_simulator):
    day = yesterday()
    gateway_simulator.configure(management_keys=[MANAGEMENT_KEY])
    gateway_simulator.add_records(
        [
            record("gen-a1", key=KEY_A, day=day, cost="0.00036"),
            record("gen-a2", key=KEY_A, day=day, cost="0.00000000000000000001"),
            record("gen-a3", key=KEY_A, day=day - timedelta(days=1), cost="0.5"),
            record(
                "gen-b1",
                key=KEY_B,
                day=day,
                cost="0.0001",
                model="anthropic/claude-3.5-haiku",
                is_byok=True,
                upstream_inference_cost=Decimal("0.002"),
            ),
        ]
    )
    return gateway_simulator


def test_it_reads_the_documented_activity_example_exactly():
    [row] = parse_activity(fixture_text("openrouter_activity.json"))
    assert row.day == date(2025, 8, 24)
    assert (row.model, row.model_permaslug, row.provider_name) == ("openai/gpt-4.1", "openai/gpt-4.1-2025-04-14", "OpenAI")
    assert row.endpoint_id == "550e8400-e29b-41d4-a716-446655440000"
    assert (row.usage, row.byok_usage_inference, row.cost) == (Decimal("0.015"), Decimal("0.012"), Decimal("0.027"))
    assert (row.requests, row.prompt_tokens, row.completion_tokens, row.reasoning_tokens) == (5, 50, 125, 25)
    assert row.cached_tokens is None


def test_it_reads_the_documented_key_list_example():
    [key] = parse_keys_page(fixture_text("openrouter_keys.json"))
    assert key.hash == "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"
    assert (key.name, key.label, key.disabled) == ("My Production Key", "Production API Key", False)


@pytest.mark.parametrize(
    "body",
    [
        '{"data": {"date": "2026-01-01"}}',
        '{"data": [{"date": "yesterday", "model": "m", "usage": 1, "requests": 1}]}',
        '{"data": [{"date": "2026-01-01", "model": "m", "usage": -1, "requests": 1}]}',
        '{"data": [{"date": "2026-01-01", "model": "m", "usage": "1e999999", "requests": 1}]}',
        '{"data": [{"date": "2026-01-01", "model": "m", "usage": 1, "requests": 1.5}]}',
        "[]",
        "<html>",
    ],
)
def test_it_refuses_activity_it_cannot_read(body):
    with pytest.raises(BadPayload):
        parse_activity(body)


def test_it_lists_every_key_with_its_hash_and_label_across_pages(account):
    account.configure(keys_page_size=1)
    keys = fetch_keys(base_url=account.base_url("openrouter"), secret=MANAGEMENT_KEY)
    assert sorted(key.hash for key in keys) == sorted(hashlib.sha256(k.encode()).hexdigest() for k in (KEY_A, KEY_B))
    assert {key.label for key in keys} == {key_label(KEY_A), key_label(KEY_B)}
    assert key_label(KEY_A) == "sk-or-v1-aaa...111"


def test_activity_per_key_is_consistent_with_the_simulators_records(account):
    day = yesterday()
    hash_a = hashlib.sha256(KEY_A.encode()).hexdigest()
    hash_b = hashlib.sha256(KEY_B.encode()).hexdigest()
    rows_a, rows_b, rows_all = fetch_activity(
        base_url=account.base_url("openrouter"), secret=MANAGEMENT_KEY, day=day, key_hashes=[hash_a, hash_b, None]
    )
    [row_a] = rows_a
    assert (row_a.day, row_a.model, row_a.requests) == (day, "openai/gpt-4o-mini", 2)
    assert row_a.usage == Decimal("0.00036000000000000001")
    [row_b] = rows_b
    assert (row_b.usage, row_b.byok_usage_inference, row_b.cost) == (Decimal("0.0001"), Decimal("0.002"), Decimal("0.0021"))
    assert sum(row.requests for row in rows_all) == 3


def test_an_inference_key_is_refused_with_403(account):
    with pytest.raises(Unauthorised) as refused:
        fetch_keys(base_url=account.base_url("openrouter"), secret=KEY_A)
    assert refused.value.status_code == 403
    assert "Only management keys" in str(refused.value)
    with pytest.raises(Unauthorised):
        fetch_activity(base_url=account.base_url("openrouter"), secret=KEY_A, day=yesterday(), key_hashes=[None])


def test_a_day_outside_the_window_is_refused(account):
    with pytest.raises(BadPayload):
        fetch_activity(
            base_url=account.base_url("openrouter"), secret=MANAGEMENT_KEY, day=datetime.now(UTC).date(), key_hashes=[None]
        )


def test_rate_limits_and_server_errors_are_typed_for_retrying(account):
    account.configure(scripts={"/api/v1/activity": ["429:7", "502"], "/api/v1/keys": ["500"]})
    base_url = account.base_url("openrouter")
    with pytest.raises(RateLimited) as limited:
        fetch_activity(base_url=base_url, secret=MANAGEMENT_KEY, day=yesterday(), key_hashes=[None])
    assert limited.value.retry_after == 7
    with pytest.raises(TransientFailure):
        fetch_activity(base_url=base_url, secret=MANAGEMENT_KEY, day=yesterday(), key_hashes=[None])
    with pytest.raises(TransientFailure):
        fetch_keys(base_url=base_url, secret=MANAGEMENT_KEY)
    assert fetch_activity(base_url=base_url, secret=MANAGEMENT_KEY, day=yesterday(), key_hashes=[None])


def test_the_official_sdk_reads_the_simulators_activity_and_keys(account):
    openrouter = pytest.importorskip("openrouter")
    day = yesterday()
    with openrouter.OpenRouter(api_key=MANAGEMENT_KEY, server_url=account.base_url("openrouter") + "/api/v1") as client:
        activity = client.analytics.get_user_activity(request={"date_": day.isoformat()})
        keys = client.api_keys.list(include_disabled=True)
        assert {(item.model, item.requests) for item in activity.data} == {
            ("openai/gpt-4o-mini", 2),
            ("anthropic/claude-3.5-haiku", 1),
        }
        assert {item.hash for item in keys.data} == {hashlib.sha256(k.encode()).hexdigest() for k in (KEY_A, KEY_B)}
        with pytest.raises(openrouter.errors.ForbiddenResponseError):
            openrouter.OpenRouter(api_key=KEY_A, server_url=account.base_url("openrouter") + "/api/v1").analytics.get_user_activity()
