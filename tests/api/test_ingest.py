"""POST /api/v1/generations/: validation, all-or-nothing, duplicates and conflicts, access."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessToken, Membership
from generations.models import DailySpend, Generation
from tests.api.factories import bearer_client, make_generation, record

URL = "/api/v1/generations/"


def post(client: APIClient, records: list, **extra):
    return client.post(URL, {"generations": records}, format="json", **extra)


def errors_of(response) -> list[tuple]:
    assert response.status_code == 400, response.content
    return [(error["index"], error["field"]) for error in response.json()["errors"]]


def test_it_stores_valid_records_and_counts_them(team_a):
    records = [
        record(team_a.key, id="gen-1", cost="0.0000000375", tokens_cached=5, tokens_reasoning=3, is_byok=True),
        record(team_a.fast_key, id="gen-2", cost=0.5, streamed=True, cancelled=True),
    ]
    response = post(team_a.client(team_a.ingest_token), records)

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "duplicates": 0, "conflicts": []}
    first = Generation.objects.get(external_id="gen-1")
    assert first.cost == Decimal("0.0000000375")
    assert (first.tokens_cached, first.tokens_reasoning, first.is_byok) == (5, 3, True)
    assert first.team == team_a.team and first.api_key == team_a.key
    assert first.state == "pending"
    second = Generation.objects.get(external_id="gen-2")
    assert second.cost == Decimal("0.5") and second.streamed and second.cancelled and not second.is_byok


def test_it_parses_costs_exactly_never_through_float(team_a):
    body = json.dumps({"generations": [record(team_a.key, id="exact", cost="PLACEHOLDER")]})
    body = body.replace('"PLACEHOLDER"', "0.100000000001")  # a JSON number float would round
    response = team_a.client().post(URL, body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert Generation.objects.get(external_id="exact").cost == Decimal("0.100000000001")


def test_it_adds_created_generations_to_the_daily_rollups(team_a):
    records = [record(team_a.key, cost="0.25"), record(team_a.key, cost="0.50", tokens_prompt=7)]
    post(team_a.client(), records)
    post(team_a.client(), records)  # duplicates: counted once

    spend = DailySpend.objects.get(api_key=team_a.key)
    assert spend.generations == 2
    assert spend.recorded_cost == Decimal("0.75")
    assert spend.tokens_prompt == 107
    assert spend.pending == 2


def test_it_schedules_the_first_lookup_shortly_after_creation_never_in_the_past(team_a):
    recent = timezone.now().replace(microsecond=0)
    records = [
        record(team_a.key, id="recent", created_at=recent.isoformat()),
        record(team_a.key, id="old", created_at="2026-01-01T00:00:00Z"),
    ]
    before = timezone.now()
    post(team_a.client(), records)

    assert Generation.objects.get(external_id="recent").next_attempt_at == recent + timedelta(seconds=5)
    assert Generation.objects.get(external_id="old").next_attempt_at >= before


def test_it_stores_created_at_in_utc_from_any_offset(team_a):
    post(team_a.client(), [record(team_a.key, id="offset", created_at="2026-01-15T12:00:00+02:00")])

    stored = Generation.objects.get(external_id="offset").created_at
    assert stored == datetime(2026, 1, 15, 10, tzinfo=UTC)


def test_it_counts_a_repeated_identical_record_as_a_duplicate_and_changes_nothing(team_a):
    existing = make_generation(team_a.key, external_id="seen", cost=Decimal("0.0000375"))
    same = record(team_a.key, id="seen", created_at=existing.created_at.isoformat(), cost="0.000037500")

    response = post(team_a.client(), [same, record(team_a.key, id="new")])

    assert response.json() == {"created": 1, "duplicates": 1, "conflicts": []}
    assert Generation.objects.filter(external_id="seen").count() == 1


def test_it_lists_a_record_with_different_content_as_a_conflict_and_keeps_the_stored_one(team_a):
    make_generation(team_a.key, external_id="seen", cost=Decimal("1.00"))

    response = post(team_a.client(), [record(team_a.key, id="seen", cost="2.00")])

    assert response.status_code == 201
    assert response.json() == {"created": 0, "duplicates": 0, "conflicts": ["seen"]}
    assert Generation.objects.get(external_id="seen").cost == Decimal("1.00")
    assert DailySpend.objects.get(api_key=team_a.key).recorded_cost == Decimal("1.00")


def test_it_lists_the_same_id_claiming_another_month_as_a_conflict_and_stores_no_second_row(team_a):
    first = post(team_a.client(), [record(team_a.key, id="moved", created_at="2026-01-15T10:00:00+00:00")])
    again = post(team_a.client(), [record(team_a.key, id="moved", created_at="2026-02-15T10:00:00+00:00")])

    assert first.json()["created"] == 1
    assert again.json() == {"created": 0, "duplicates": 0, "conflicts": ["moved"]}
    assert Generation.objects.filter(external_id="moved").count() == 1


def test_it_treats_the_same_id_on_another_gateway_as_another_generation(team_a):
    response = post(team_a.client(), [record(team_a.key, id="shared"), record(team_a.fast_key, id="shared")])

    assert response.json()["created"] == 2


def test_it_stores_a_record_posted_twice_in_one_request_once(team_a):
    twice = record(team_a.key, id="twice")
    changed = dict(twice, cost="9.99")

    response = post(team_a.client(), [twice, twice, changed])

    assert response.json() == {"created": 1, "duplicates": 1, "conflicts": ["twice"]}
    assert Generation.objects.get(external_id="twice").cost == Decimal(twice["cost"])
    assert DailySpend.objects.get(api_key=team_a.key).generations == 1


def test_it_accepts_an_empty_list(team_a):
    assert post(team_a.client(), []).json() == {"created": 0, "duplicates": 0, "conflicts": []}


def test_it_treats_null_optional_fields_as_absent(team_a):
    response = post(team_a.client(), [record(team_a.key, id="nulls", tokens_cached=None, is_byok=None)])

    assert response.status_code == 201
    stored = Generation.objects.get(external_id="nulls")
    assert (stored.tokens_cached, stored.is_byok) == (0, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gateway", "no-such-gateway"),
        ("gateway", 7),
        ("id", ""),
        ("id", "x" * 256),
        ("id", 12),
        ("id", "nul\x00byte"),
        ("api_key", "no-such-key"),
        ("model", "m" * 201),
        ("model", None),
        ("created_at", "2026-01-15T10:00:00"),
        ("created_at", "yesterday"),
        ("created_at", "2026-02-30T10:00:00Z"),
        ("created_at", 1768471200),
        ("created_at", "2999-01-01T00:00:00Z"),
        ("created_at", "0001-01-01T00:00:00+05:00"),
        ("tokens_prompt", -1),
        ("tokens_prompt", 1.5),
        ("tokens_prompt", "100"),
        ("tokens_prompt", True),
        ("tokens_completion", 2**31),
        ("tokens_cached", -5),
        ("tokens_reasoning", "3"),
        ("cost", "-0.01"),
        ("cost", -1),
        ("cost", "NaN"),
        ("cost", "Infinity"),
        ("cost", "1,50"),
        ("cost", " 1.5"),
        ("cost", "100000000000000000000"),
        ("cost", "1e20"),
        ("cost", True),
        ("cost", None),
        ("cost", [1]),
        ("is_byok", "yes"),
        ("cancelled", 1),
        ("streamed", "true"),
    ],
)
def test_it_rejects_an_invalid_field_with_its_index_and_name(team_a, field, value):
    records = [record(team_a.key), record(team_a.key, **{field: value}), record(team_a.key)]

    response = post(team_a.client(), records)

    assert errors_of(response) == [(1, field)]
    assert response.json()["errors"][0]["message"]
    assert Generation.objects.count() == 0


@pytest.mark.parametrize("field", ["gateway", "id", "api_key", "model", "created_at", "tokens_prompt", "tokens_completion", "cost"])
def test_it_rejects_a_record_missing_a_required_field(team_a, field):
    incomplete = record(team_a.key)
    del incomplete[field]

    response = post(team_a.client(), [record(team_a.key), incomplete])

    assert errors_of(response) == [(1, field)]
    assert response.json()["errors"][0]["message"] == "required"


def test_it_rejects_unknown_fields_so_typos_are_not_lost(team_a):
    assert errors_of(post(team_a.client(), [record(team_a.key, tokens_cahced=3)])) == [(0, "tokens_cahced")]


def test_it_rejects_a_record_that_is_not_an_object(team_a):
    assert errors_of(post(team_a.client(), [record(team_a.key), ["not", "an", "object"]])) == [(1, None)]


def test_it_reports_every_error_of_every_record(team_a):
    bad = record(team_a.key, tokens_prompt=-1, cost="x")
    response = post(team_a.client(), [bad, record(team_a.key), record(team_a.key, model="")])

    assert errors_of(response) == [(0, "tokens_prompt"), (0, "cost"), (2, "model")]


def test_it_rejects_a_key_that_is_not_of_the_named_gateway(team_a):
    response = post(team_a.client(), [record(team_a.key, gateway="fastrouter")])

    assert errors_of(response) == [(0, "api_key")]
    assert "fastrouter" in response.json()["errors"][0]["message"]


def test_it_rejects_generations_made_after_the_key_was_revoked(team_a):
    team_a.key.revoked_at = datetime(2026, 1, 10, tzinfo=UTC)
    team_a.key.save()

    before = record(team_a.key, created_at="2026-01-09T00:00:00Z")
    after = record(team_a.key, created_at="2026-01-11T00:00:00Z")

    assert errors_of(post(team_a.client(), [before, after])) == [(1, "api_key")]
    assert post(team_a.client(), [before]).status_code == 201


def test_one_bad_record_in_a_thousand_writes_nothing(team_a):
    records = [record(team_a.key) for _ in range(1000)]
    records[617]["tokens_completion"] = -3

    response = post(team_a.client(), records)

    assert errors_of(response) == [(617, "tokens_completion")]
    assert Generation.objects.count() == 0
    assert DailySpend.objects.count() == 0


def test_it_stores_ten_thousand_records_in_one_request(team_a):
    records = [record(team_a.key if index % 2 else team_a.fast_key) for index in range(10_000)]

    response = post(team_a.client(), records)

    assert response.json()["created"] == 10_000
    assert Generation.objects.count() == 10_000
    assert sum(DailySpend.objects.values_list("generations", flat=True)) == 10_000


def test_it_refuses_more_than_ten_thousand_records(team_a):
    response = post(team_a.client(), [record(team_a.key) for _ in range(10_001)])

    assert errors_of(response) == [(None, "generations")]
    assert Generation.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "generations"),
        ({"generations": {"a": 1}}, "generations"),
        ({"generations": [], "extra": 1}, "extra"),
        ([], None),
        ("text", None),
    ],
)
def test_it_rejects_a_body_of_the_wrong_shape(team_a, body, field):
    response = team_a.client().post(URL, body, format="json")

    assert errors_of(response) == [(None, field)]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"generations": [NaN]}',
        b'{"generations": [Infinity]}',
        b"\xff\xfe{}",
        b'{"generations": [' + b"1" * 5000 + b"]}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["broken", "nan", "infinity", "not-utf8", "huge-integer", "deeply-nested"],
)
def test_it_answers_400_not_500_for_a_body_that_is_not_usable_json(team_a, body):
    response = team_a.client().post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_it_answers_413_for_a_body_over_the_limit(team_a):
    response = post(team_a.client(), [record(team_a.key) for _ in range(100)])

    assert response.status_code == 413
    assert "smaller requests" in response.json()["detail"]
    assert Generation.objects.count() == 0


def test_it_answers_415_for_a_body_that_is_not_declared_json(team_a):
    response = team_a.client().post(URL, "generations=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


# Access ----------------------------------------------------------------------------------------


def test_it_answers_401_without_credentials(team_a):
    response = APIClient().post(URL, {"generations": [record(team_a.key)]}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_answers_401_for_an_unknown_or_revoked_token(team_a):
    AccessToken.objects.filter(team=team_a.team).update(revoked_at=timezone.now())

    for token in (team_a.both_token, "tally_not-a-token"):
        assert post(bearer_client(token), [record(team_a.key)]).status_code == 401
    assert Generation.objects.count() == 0


def test_it_answers_403_for_a_token_without_the_ingest_scope(team_a):
    response = post(team_a.client(team_a.read_token), [record(team_a.key)])

    assert response.status_code == 403
    assert "ingest" in response.json()["detail"]


def test_a_token_cannot_record_generations_for_another_teams_key(team_a, team_b):
    response = post(team_a.client(), [record(team_a.key), record(team_b.key)])

    assert errors_of(response) == [(1, "api_key")]
    assert response.json()["errors"][0]["message"] == "unknown api_key"
    assert Generation.objects.count() == 0


def _session_client(team, role: str, *, csrf: bool = True) -> APIClient:
    user = User.objects.create_user(f"{role}-user", password="pw-not-used")
    Membership.objects.create(user=user, team=team, role=role)
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _with_csrf(client: APIClient) -> dict:
    """The CSRF cookie a page would have set, and the header a script sends it back in."""
    token = "csrf0123456789abcdefghijklmnopqr"
    client.cookies["csrftoken"] = token
    return {"HTTP_X_CSRFTOKEN": token}


def test_a_member_signed_in_records_generations_for_their_team_with_csrf(team_a):
    client = _session_client(team_a.team, "member")

    assert post(client, [record(team_a.key)]).status_code == 403  # no CSRF token
    response = post(client, [record(team_a.key)], **_with_csrf(client))

    assert response.status_code == 201, response.content
    assert Generation.objects.get().team == team_a.team


def test_a_viewer_signed_in_may_not_record_generations(team_a):
    client = _session_client(team_a.team, "viewer", csrf=False)

    assert post(client, [record(team_a.key)]).status_code == 403


def test_a_member_signed_in_cannot_record_for_another_team(team_a, team_b):
    client = _session_client(team_a.team, "admin", csrf=False)

    assert errors_of(post(client, [record(team_b.key)])) == [(0, "api_key")]
