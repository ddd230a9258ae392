"""GET /api/v1/discrepancies/ and GET/PATCH /api/v1/discrepancies/{id}/."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership
from billing.models import Discrepancy, DiscrepancyEvent
from tests.api.factories import make_generation

URL = "/api/v1/discrepancies/"


def make_discrepancy(key, *, external_id: str | None = None, **fields) -> Discrepancy:
    generation = make_generation(key, **({"external_id": external_id} if external_id else {}))
    values = {
        "kind": "cost_mismatch",
        "severity": "error",
        "expected": Decimal("0.0000375"),
        "actual": Decimal("0.00004"),
        "delta": Decimal("0.0000025"),
    }
    values.update(fields)
    return Discrepancy.objects.create(generation=generation, **values)


def signed_in(username: str, *, finance: bool = False, team=None, role: str = "member") -> APIClient:
    user = User.objects.create_user(username)
    if finance:
        user.groups.add(Group.objects.get_or_create(name="Finance")[0])
    if team is not None:
        Membership.objects.create(user=user, team=team, role=role)
    client = APIClient()
    client.force_login(user)
    return client


def kinds(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [discrepancy["kind"] for discrepancy in response.json()["results"]]


def test_it_lists_discrepancies_with_their_generation_and_amounts(team_a):
    make_discrepancy(team_a.key, external_id="gen-1")

    [discrepancy] = team_a.client(team_a.read_token).get(URL).json()["results"]

    assert discrepancy["generation"] == "gen-1"
    assert discrepancy["gateway"] == "openrouter"
    assert discrepancy["team"] == "alpha"
    assert (discrepancy["kind"], discrepancy["severity"], discrepancy["status"]) == ("cost_mismatch", "error", "open")
    assert (discrepancy["expected"], discrepancy["actual"], discrepancy["delta"]) == (
        "0.000037500000000000",
        "0.000040000000000000",
        "0.000002500000000000",
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"gateway": "fastrouter"}, ["token_mismatch"]),
        ({"generation": "gen-2"}, ["byok_mismatch"]),
        ({"kind": "cost_mismatch"}, ["cost_mismatch"]),
        ({"severity": "warning"}, ["token_mismatch"]),
        ({"status": "resolved"}, ["byok_mismatch"]),
        ({"team": "alpha", "severity": "error"}, ["cost_mismatch", "byok_mismatch"]),
        ({"team": "beta"}, []),
        ({"api_key": "alpha-fast"}, ["token_mismatch"]),
    ],
)
def test_it_filters(team_a, team_b, filters, expected):
    make_discrepancy(team_a.key, external_id="gen-1")
    make_discrepancy(team_a.key, external_id="gen-2", kind="byok_mismatch", status="resolved")
    make_discrepancy(team_a.fast_key, external_id="gen-3", kind="token_mismatch", severity="warning")
    make_discrepancy(team_b.key, external_id="gen-4", kind="price_mismatch")

    assert kinds(team_a.client().get(URL, filters)) == expected


@pytest.mark.parametrize("filters", [{"kind": "odd"}, {"severity": "fatal"}, {"status": "closed"}])
def test_it_answers_400_for_an_unknown_choice(team_a, filters):
    assert team_a.client().get(URL, filters).status_code == 400


def test_finance_sees_every_team_and_members_only_theirs(team_a, team_b):
    make_discrepancy(team_a.key)
    make_discrepancy(team_b.key, kind="price_mismatch")

    assert sorted(kinds(signed_in("finance", finance=True).get(URL))) == ["cost_mismatch", "price_mismatch"]
    assert kinds(signed_in("member", team=team_b.team).get(URL)) == ["price_mismatch"]


def test_finance_changes_the_status_with_a_reason_kept_in_the_history(team_a):
    discrepancy = make_discrepancy(team_a.key)
    client = signed_in("finance", finance=True)

    response = client.patch(
        f"{URL}{discrepancy.pk}/", {"status": "written_off", "reason": "Gateway refunded it."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "written_off"
    assert response.json()["status_reason"] == "Gateway refunded it."
    assert response.json()["status_changed_by"] == "finance"
    event = DiscrepancyEvent.objects.get(discrepancy=discrepancy)
    assert (event.from_status, event.to_status, event.note) == ("open", "written_off", "Gateway refunded it.")


@pytest.mark.parametrize(
    "body",
    [{"status": "resolved"}, {"status": "resolved", "reason": "   "}, {"status": "closed", "reason": "x"}, {}],
)
def test_a_status_change_needs_a_known_status_and_a_reason(team_a, body):
    discrepancy = make_discrepancy(team_a.key)

    response = signed_in("finance", finance=True).patch(f"{URL}{discrepancy.pk}/", body, format="json")

    assert response.status_code == 400
    discrepancy.refresh_from_db()
    assert discrepancy.status == "open" and not DiscrepancyEvent.objects.exists()


def test_a_move_the_workflow_does_not_allow_is_refused(team_a):
    discrepancy = make_discrepancy(team_a.key, status="resolved")

    response = signed_in("finance", finance=True).patch(
        f"{URL}{discrepancy.pk}/", {"status": "written_off", "reason": "why not"}, format="json"
    )

    assert response.status_code == 400
    assert "resolved" in response.json()["detail"]


def test_only_finance_may_change_a_status(team_a):
    discrepancy = make_discrepancy(team_a.key)
    change = {"status": "acknowledged", "reason": "seen"}

    assert team_a.client().patch(f"{URL}{discrepancy.pk}/", change, format="json").status_code == 403
    admin = signed_in("admin", team=team_a.team, role="admin")
    assert admin.patch(f"{URL}{discrepancy.pk}/", change, format="json").status_code == 403
    discrepancy.refresh_from_db()
    assert discrepancy.status == "open"


def test_a_discrepancy_of_another_team_is_not_found_even_for_a_change(team_a, team_b):
    theirs = make_discrepancy(team_b.key)
    change = {"status": "acknowledged", "reason": "seen"}

    assert team_a.client().get(f"{URL}{theirs.pk}/").status_code == 404
    assert team_a.client().patch(f"{URL}{theirs.pk}/", change, format="json").status_code == 404
    assert team_a.client().get(f"{URL}{theirs.pk + 1000}/").status_code == 404
    assert team_a.client().get(f"{URL}99999999999999999999999/").status_code == 404
    assert team_a.client(team_a.read_token).get(f"{URL}{make_discrepancy(team_a.key).pk}/").status_code == 200


def test_the_generation_filter_seeks_the_gateway_and_id_index(team_a):
    make_discrepancy(team_a.key, external_id="gen-1")
    make_discrepancy(team_a.fast_key, external_id="gen-1", kind="token_mismatch", severity="warning")
    make_discrepancy(team_a.key, external_id="gen-2", kind="byok_mismatch")

    with CaptureQueriesContext(connection) as queries:
        found = kinds(team_a.client().get(URL, {"generation": "gen-1"}))

    assert found == ["cost_mismatch", "token_mismatch"]
    [listing] = [query["sql"] for query in queries if 'FROM "billing_discrepancy"' in query["sql"]]
    assert 'U0."external_id" = ' in listing and 'U0."gateway_id" IN (' in listing
