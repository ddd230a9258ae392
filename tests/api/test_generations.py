"""GET /api/v1/generations/ (filters, cursor pages) and /api/v1/generations/{gateway}/{id}/."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership
from billing.models import Discrepancy
from generations.models import GatewayRecord
from tests.api.factories import make_generation

URL = "/api/v1/generations/"
JANUARY = datetime(2026, 1, 15, 10, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [generation["id"] for generation in response.json()["results"]]


def test_it_shows_a_generation_with_amounts_as_exact_strings_and_times_in_utc(team_a):
    make_generation(
        team_a.key, external_id="gen-a", cost=Decimal("0.0000000375"), created_at=JANUARY, tokens_cached=4
    )

    [generation] = team_a.client(team_a.read_token).get(URL).json()["results"]

    assert generation["gateway"] == "openrouter"
    assert generation["id"] == "gen-a"
    assert generation["api_key"] == team_a.key.slug
    assert generation["team"] == "alpha"
    assert generation["cost"] == "0.000000037500000000"
    assert generation["charged_cost"] is None
    assert generation["created_at"] == "2026-01-15T10:00:00Z"
    assert (generation["tokens_prompt"], generation["tokens_completion"], generation["tokens_cached"]) == (100, 20, 4)
    assert generation["state"] == "pending"


def test_it_lists_only_the_callers_team(team_a, team_b):
    make_generation(team_a.key, external_id="mine")
    make_generation(team_b.key, external_id="theirs")

    assert ids(team_a.client().get(URL)) == ["mine"]
    assert ids(team_a.client().get(URL, {"team": "beta"})) == []
    assert ids(team_a.client().get(URL, {"api_key": team_b.key.slug})) == []
    assert ids(team_a.client().get(URL, {"id": "theirs"})) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"gateway": "fastrouter"}, ["fast"]),
        ({"id": "verified"}, ["verified"]),
        ({"api_key": "alpha-fast"}, ["fast"]),
        ({"state": "verified"}, ["verified"]),
        ({"model": "anthropic/claude"}, ["claude"]),
        ({"created_after": "2026-01-16T00:00:00Z"}, ["claude", "fast"]),
        ({"created_before": "2026-01-16T00:00:00+00:00"}, ["verified"]),
        ({"created_after": "2026-01-16T00:00:00Z", "created_before": "2026-01-17T11:00:00+01:00"}, ["claude"]),
        ({"team": "alpha", "state": "pending"}, ["claude", "fast"]),
    ],
)
def test_it_filters(team_a, filters, expected):
    make_generation(team_a.key, external_id="verified", state="verified", created_at=JANUARY)
    make_generation(team_a.key, external_id="claude", model="anthropic/claude", created_at=JANUARY + timedelta(days=1))
    make_generation(team_a.fast_key, external_id="fast", created_at=JANUARY + timedelta(days=2))

    assert ids(team_a.client().get(URL, filters)) == expected


@pytest.mark.parametrize(
    "filters",
    [
        {"state": "lost"},
        {"created_after": "2026-01-16T00:00:00"},
        {"created_before": "soon"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"model": "nul\x00"},
        {"id": "x" * 300},
    ],
)
def test_it_answers_400_for_a_bad_filter(team_a, filters):
    response = team_a.client().get(URL, filters)

    assert response.status_code == 400
    assert response.json()["detail"]


def test_it_pages_through_everything_once_in_created_order_even_with_equal_times(team_a):
    expected = []
    for index in range(7):
        created_at = JANUARY + timedelta(minutes=index // 3)  # three at each time
        expected.append(make_generation(team_a.key, external_id=f"g{index}", created_at=created_at).external_id)

    seen, url = [], f"{URL}?limit=3"
    while url:
        page = team_a.client().get(url).json()
        seen += [generation["id"] for generation in page["results"]]
        url = page["next"]
        make_generation(team_a.key, created_at=JANUARY - timedelta(days=1))  # added before: not seen

    assert seen == expected


def test_a_generation_shows_the_gateways_record_and_the_findings(team_a):
    generation = make_generation(team_a.key, external_id="gen-x/1", state="disputed")
    GatewayRecord.objects.create(generation=generation, total_cost=Decimal("0.5"), raw='{"data": {"total_cost": 0.5}}')
    Discrepancy.objects.create(
        generation=generation,
        kind="cost_mismatch",
        severity="error",
        expected=Decimal("0.0000375"),
        actual=Decimal("0.5"),
        delta=Decimal("0.4999625"),
    )

    response = team_a.client().get(f"{URL}openrouter/gen-x/1/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == "gen-x/1" and body["state"] == "disputed"
    assert body["gateway_record"]["total_cost"] == "0.500000000000000000"
    assert body["gateway_record"]["raw"] == '{"data": {"total_cost": 0.5}}'
    [finding] = body["findings"]
    assert (finding["kind"], finding["severity"], finding["status"]) == ("cost_mismatch", "error", "open")
    assert (finding["expected"], finding["actual"], finding["delta"]) == (
        "0.000037500000000000",
        "0.500000000000000000",
        "0.499962500000000000",
    )


def test_a_generation_not_yet_looked_up_has_no_gateway_record(team_a):
    make_generation(team_a.key, external_id="fresh")

    body = team_a.client().get(f"{URL}openrouter/fresh/").json()

    assert body["gateway_record"] is None and body["findings"] == []


def test_a_generation_of_another_team_is_not_found(team_a, team_b):
    make_generation(team_b.key, external_id="theirs")

    assert team_a.client().get(f"{URL}openrouter/theirs/").status_code == 404
    assert team_a.client().get(f"{URL}fastrouter/theirs/").status_code == 404
    assert team_a.client().get(f"{URL}openrouter/nothing/").status_code == 404


def test_a_token_without_the_read_scope_gets_403(team_a):
    make_generation(team_a.key, external_id="mine")

    assert team_a.client(team_a.ingest_token).get(URL).status_code == 403
    assert team_a.client(team_a.ingest_token).get(f"{URL}openrouter/mine/").status_code == 403


def test_members_see_their_teams_and_finance_sees_all(team_a, team_b):
    make_generation(team_a.key, external_id="a")
    make_generation(team_b.key, external_id="b")
    viewer = User.objects.create_user("viewer")
    Membership.objects.create(user=viewer, team=team_b.team, role="viewer")
    finance = User.objects.create_user("finance")
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    outsider = User.objects.create_user("outsider")

    def as_user(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    assert ids(as_user(viewer).get(URL)) == ["b"]
    assert as_user(viewer).get(f"{URL}openrouter/a/").status_code == 404
    assert sorted(ids(as_user(finance).get(URL))) == ["a", "b"]
    assert as_user(finance).get(f"{URL}openrouter/a/").status_code == 200
    assert ids(as_user(outsider).get(URL)) == []
    assert APIClient().get(URL).status_code == 401


def test_the_id_filter_seeks_the_gateway_and_id_index_once_per_gateway(team_a):
    make_generation(team_a.key, external_id="wanted")
    make_generation(team_a.fast_key, external_id="wanted")
    make_generation(team_a.key, external_id="other")

    with CaptureQueriesContext(connection) as queries:
        found = ids(team_a.client(team_a.read_token).get(URL, {"id": "wanted"}))

    assert found == ["wanted", "wanted"]
    [listing] = [query["sql"] for query in queries if 'FROM "generations_generation"' in query["sql"]]
    assert '"generations_generation"."gateway_id" IN (' in listing
