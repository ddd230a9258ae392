"""GET /api/v1/keys/ and /api/v1/keys/{slug}/spend/."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from generations.models import Generation
from generations.rollups import SpendFacts, rollup_generations_changed
from tests.api.factories import make_generation

JANUARY = datetime(2026, 1, 1, 12, tzinfo=UTC)


def spend_url(slug: str) -> str:
    return f"/api/v1/keys/{slug}/spend/"


def test_it_lists_the_teams_keys_without_secrets(team_a, team_b):
    response = team_a.client(team_a.read_token).get("/api/v1/keys/")

    assert response.status_code == 200
    keys = response.json()["results"]
    assert [key["slug"] for key in keys] == ["alpha-key", "alpha-fast"]
    assert keys[0]["gateway"] == "openrouter" and keys[0]["team"] == "alpha" and keys[0]["active"] is True
    assert keys[0]["last_four"] == team_a.key.last_four
    assert not {"secret", "secret_encrypted", "fingerprint"} & keys[0].keys()
    assert team_a.key.secret() not in response.content.decode()


def test_it_filters_keys(team_a):
    team_a.fast_key.revoked_at = timezone.now()
    team_a.fast_key.save()
    client = team_a.client()

    def slugs(**filters) -> list[str]:
        return [key["slug"] for key in client.get("/api/v1/keys/", filters).json()["results"]]

    assert slugs(gateway="fastrouter") == ["alpha-fast"]
    assert slugs(active="true") == ["alpha-key"]
    assert slugs(active="false") == ["alpha-fast"]
    assert slugs(team="beta") == []
    assert client.get("/api/v1/keys/", {"active": "maybe"}).status_code == 400


def _january_spend(team_a) -> None:
    make_generation(team_a.key, model="m/a", created_at=JANUARY, cost=Decimal("0.10"), tokens_prompt=10)
    make_generation(team_a.key, model="m/b", created_at=JANUARY, cost=Decimal("0.000000037500"), tokens_prompt=1)
    make_generation(
        team_a.key, model="m/a", created_at=JANUARY + timedelta(days=1), cost=Decimal("0.20"), tokens_prompt=20
    )
    make_generation(team_a.key, model="m/a", created_at=JANUARY + timedelta(days=40), cost=Decimal("5"))
    # One verified, charged a little more than recorded.
    generation = Generation.objects.get(cost=Decimal("0.20"))
    before = SpendFacts.of(generation)
    generation.state, generation.charged_cost = "verified", Decimal("0.25")
    generation.save()
    rollup_generations_changed([(before, SpendFacts.of(generation))])


def test_it_sums_a_keys_spend_over_the_range_inclusive(team_a):
    _january_spend(team_a)

    response = team_a.client().get(spend_url("alpha-key"), {"from": "2026-01-01", "to": "2026-01-31"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["api_key"], body["currency"], body["from"], body["to"]) == ("alpha-key", "USD", "2026-01-01", "2026-01-31")
    total = body["total"]
    assert total["generations"] == 3
    assert total["tokens_prompt"] == 31
    assert Decimal(total["recorded_cost"]) == Decimal("0.300000037500")
    assert Decimal(total["charged_cost"]) == Decimal("0.25")
    assert Decimal(total["verified_charged_cost"]) == Decimal("0.25")
    assert Decimal(total["amount"]) == Decimal("0.350000037500")  # charged where verified, recorded elsewhere
    assert (total["pending"], total["verified"]) == (2, 1)
    assert body["rows"] == [] and body["group_by"] is None


def test_the_last_day_is_included(team_a):
    _january_spend(team_a)

    body = team_a.client().get(spend_url("alpha-key"), {"from": "2026-01-02", "to": "2026-01-02"}).json()

    assert body["total"]["generations"] == 1


def test_it_groups_spend_by_day_and_by_model(team_a):
    _january_spend(team_a)
    client = team_a.client()
    january = {"from": "2026-01-01", "to": "2026-01-31"}

    by_day = client.get(spend_url("alpha-key"), {**january, "group_by": "day"}).json()["rows"]
    by_model = client.get(spend_url("alpha-key"), {**january, "group_by": "model"}).json()["rows"]

    assert [(row["day"], row["generations"]) for row in by_day] == [("2026-01-01", 2), ("2026-01-02", 1)]
    assert [(row["model"], row["recorded_cost"]) for row in by_model] == [
        ("m/a", "0.300000000000000000"),
        ("m/b", "0.000000037500000000"),
    ]
    assert by_model[0]["verified_share"] is not None


def test_it_defaults_to_this_month_so_far(team_a):
    make_generation(team_a.key, created_at=timezone.now())

    body = team_a.client().get(spend_url("alpha-key")).json()

    today = timezone.now().date()
    assert (body["from"], body["to"]) == (today.replace(day=1).isoformat(), today.isoformat())
    assert body["total"]["generations"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"from": "2025-01-01", "to": "2026-01-02"},
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"group_by": "week"},
    ],
)
def test_it_answers_400_for_a_bad_range_or_grouping(team_a, params):
    response = team_a.client().get(spend_url("alpha-key"), params)

    assert response.status_code == 400
    assert response.json()["detail"]


def test_a_full_year_is_allowed(team_a):
    start = date(2024, 1, 1)
    params = {"from": start.isoformat(), "to": (start + timedelta(days=365)).isoformat()}

    assert team_a.client().get(spend_url("alpha-key"), params).status_code == 200


def test_the_spend_of_another_teams_key_is_not_found(team_a, team_b):
    assert team_a.client().get(spend_url("beta-key")).status_code == 404
    assert team_a.client().get(spend_url("no-such-key")).status_code == 404
    assert team_a.client(team_a.ingest_token).get(spend_url("alpha-key")).status_code == 403
