"""Team isolation, scopes and credentials, tried on every endpoint and every id form.

Team B owns one of everything. Team A's token must not see any of it in a list, must get 404
for each of its ids, and must not be able to write to it; scopes give 403, bad tokens 401.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessToken
from billing.models import Discrepancy, Invoice, InvoiceLine
from generations.models import DailySpend, Generation
from tests.api.factories import bearer_client, make_generation, record


@pytest.fixture
def theirs(team_b) -> dict:
    generation = make_generation(team_b.key, external_id="their-generation")
    discrepancy = Discrepancy.objects.create(generation=generation, kind="cost_mismatch", severity="error")
    invoice = Invoice.objects.create(team=team_b.team, period=date(2026, 1, 1), total=Decimal("1.00"))
    InvoiceLine.objects.create(invoice=invoice, api_key=team_b.key, model="m", amount=Decimal("1.00"))
    return {"generation": generation, "discrepancy": discrepancy, "invoice": invoice}


def their_object_urls(theirs: dict) -> list[str]:
    return [
        "/api/v1/generations/openrouter/their-generation/",
        "/api/v1/keys/beta-key/spend/",
        "/api/v1/keys/beta-fast/spend/",
        f"/api/v1/discrepancies/{theirs['discrepancy'].pk}/",
        f"/api/v1/invoices/{theirs['invoice'].pk}/",
    ]


LISTS_AND_FILTERS = [
    ("/api/v1/generations/", {}),
    ("/api/v1/generations/", {"team": "beta"}),
    ("/api/v1/generations/", {"api_key": "beta-key"}),
    ("/api/v1/generations/", {"id": "their-generation"}),
    ("/api/v1/generations/", {"gateway": "openrouter"}),
    ("/api/v1/keys/", {}),
    ("/api/v1/keys/", {"team": "beta"}),
    ("/api/v1/discrepancies/", {}),
    ("/api/v1/discrepancies/", {"team": "beta"}),
    ("/api/v1/discrepancies/", {"generation": "their-generation"}),
    ("/api/v1/invoices/", {}),
    ("/api/v1/invoices/", {"team": "beta"}),
]


@pytest.mark.parametrize(("url", "filters"), LISTS_AND_FILTERS)
def test_lists_never_include_another_teams_objects(team_a, theirs, url, filters):
    response = team_a.client().get(url, filters)

    assert response.status_code == 200
    assert "beta" not in response.content.decode()
    assert not any(row.get("team") == "beta" for row in response.json()["results"])


def test_every_id_of_another_team_is_not_found(team_a, theirs):
    for url in their_object_urls(theirs):
        response = team_a.client().get(url)
        assert response.status_code == 404, url
        assert "beta" not in response.content.decode()


def test_another_teams_discrepancy_cannot_be_changed(team_a, theirs):
    url = f"/api/v1/discrepancies/{theirs['discrepancy'].pk}/"

    response = team_a.client().patch(url, {"status": "resolved", "reason": "mine now"}, format="json")

    assert response.status_code == 404
    theirs["discrepancy"].refresh_from_db()
    assert theirs["discrepancy"].status == "open"


def test_generations_cannot_be_recorded_on_another_teams_keys(team_a, team_b, theirs):
    for key in (team_b.key, team_b.fast_key):
        response = team_a.client().post(
            "/api/v1/generations/", {"generations": [record(key)]}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"][0] == {"index": 0, "field": "api_key", "message": "unknown api_key"}
    assert Generation.objects.filter(team=team_a.team).count() == 0


def test_a_post_cannot_overwrite_another_teams_generation(team_a, theirs):
    stored = theirs["generation"]
    clash = record(team_a.key, id=stored.external_id, cost="99")

    response = team_a.client().post("/api/v1/generations/", {"generations": [clash]}, format="json")

    assert response.json()["created"] == 0
    unchanged = Generation.objects.get(pk=stored.pk)
    assert (unchanged.team_id, unchanged.api_key_id, unchanged.cost) == (stored.team_id, stored.api_key_id, stored.cost)
    assert not DailySpend.objects.filter(team=team_a.team).exists()


READ_URLS = [
    "/api/v1/generations/",
    "/api/v1/generations/openrouter/mine/",
    "/api/v1/keys/",
    "/api/v1/keys/alpha-key/spend/",
    "/api/v1/discrepancies/",
    "/api/v1/discrepancies/{discrepancy}/",
    "/api/v1/invoices/",
    "/api/v1/invoices/{invoice}/",
]


@pytest.fixture
def ours(team_a) -> dict:
    generation = make_generation(team_a.key, external_id="mine")
    discrepancy = Discrepancy.objects.create(generation=generation, kind="cost_mismatch", severity="error")
    invoice = Invoice.objects.create(team=team_a.team, period=date(2026, 1, 1))
    return {"discrepancy": discrepancy.pk, "invoice": invoice.pk}


@pytest.mark.parametrize("url", READ_URLS)
def test_reads_need_the_read_scope_and_a_valid_token(team_a, ours, url):
    url = url.format(**ours)

    assert team_a.client(team_a.read_token).get(url).status_code == 200
    assert team_a.client(team_a.ingest_token).get(url).status_code == 403
    assert APIClient().get(url).status_code == 401
    assert bearer_client("tally_unknown").get(url).status_code == 401
    AccessToken.objects.filter(team=team_a.team).update(revoked_at=timezone.now())
    assert team_a.client(team_a.read_token).get(url).status_code == 401


def test_writes_need_the_right_scope_and_a_valid_token(team_a, ours):
    ingest = {"generations": [record(team_a.key)]}
    change = {"status": "acknowledged", "reason": "seen"}
    discrepancy_url = f"/api/v1/discrepancies/{ours['discrepancy']}/"

    assert team_a.client(team_a.read_token).post("/api/v1/generations/", ingest, format="json").status_code == 403
    assert APIClient().post("/api/v1/generations/", ingest, format="json").status_code == 401
    assert bearer_client("tally_unknown").patch(discrepancy_url, change, format="json").status_code == 401
    assert team_a.client().patch(discrepancy_url, change, format="json").status_code == 403  # tokens never may
    assert Generation.objects.count() == 1
