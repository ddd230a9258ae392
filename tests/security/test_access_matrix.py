"""Every endpoint and page, tried by people who must not see or change another team's data:
a member, a viewer and an admin of our team, a token of our team, another team's revoked
token, an anonymous visitor, staff outside Finance. Nothing of the other team may be shown
(its names and ids never appear in an answer) or changed.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessToken, ApiKey, Membership, Team
from billing.models import Discrepancy, DiscrepancyEvent, Invoice
from generations.models import Generation
from tests.billing.invoice_helpers import (
    make_discrepancy,
    make_finance_user,
    make_gateway,
    make_generation,
    make_key,
    reconcile,
)

pytestmark = pytest.mark.django_db


@dataclass
class TeamData:
    team: Team
    key: ApiKey
    generation: Generation
    discrepancy: Discrepancy
    invoice: Invoice

    def markers(self) -> list[str]:
        """Text that only an answer about this team would contain."""
        return [self.team.slug, self.team.name, self.key.slug, self.key.name, self.generation.external_id,
                self.invoice.number]  # fmt: skip


def team_data(slug: str, name: str) -> TeamData:
    team = Team.objects.create(name=name, slug=slug)
    key = make_key(team, name=f"{slug}-secretive-key")
    generation = make_generation(key, cost="0.5", at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    reconcile(generation, state="disputed", charged="0.7")
    invoice = Invoice.objects.create(team=team, period=date(2026, 3, 1), number=f"INV-{slug.upper()}-0001")
    return TeamData(team, key, generation, make_discrepancy(generation), invoice)


@pytest.fixture
def ours():
    return team_data("ours", "Our Team")


@pytest.fixture
def theirs():
    make_gateway()
    return team_data("zz-theirs", "Zebra Confidential")


def member_of(team: Team, role: str, username: str) -> User:
    user = User.objects.create_user(username)
    Membership.objects.create(user=user, team=team, role=role)
    return user


def session_client(user: User | None) -> Client:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def token_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def callers(ours, theirs) -> dict[str, APIClient]:
    """Everyone who must not get at the other team's data, by name."""
    _, our_token = AccessToken.issue(team=ours.team, scopes=["ingest", "read"])
    revoked, revoked_plaintext = AccessToken.issue(team=theirs.team, scopes=["ingest", "read"])
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    staff = User.objects.create_user("staff-not-finance", is_staff=True)
    return {
        "member": session_client(member_of(ours.team, Membership.Role.MEMBER, "member")),
        "viewer": session_client(member_of(ours.team, Membership.Role.VIEWER, "viewer")),
        "team admin": session_client(member_of(ours.team, Membership.Role.ADMIN, "team-admin")),
        "token": token_client(our_token),
        "their revoked token": token_client(revoked_plaintext),
        "anonymous": session_client(None),
        "staff outside finance": session_client(staff),
    }


def their_reads(theirs: TeamData) -> list[str]:
    gateway, generation, key = theirs.key.gateway.slug, theirs.generation, theirs.key.slug
    return [
        "/api/v1/generations/",
        f"/api/v1/generations/?team={theirs.team.slug}",
        f"/api/v1/generations/?api_key={key}",
        f"/api/v1/generations/?gateway={gateway}&id={generation.external_id}",
        f"/api/v1/generations/{gateway}/{generation.external_id}/",
        "/api/v1/keys/",
        f"/api/v1/keys/?team={theirs.team.slug}",
        f"/api/v1/keys/{key}/spend/?from=2026-03-01&to=2026-03-31&group_by=model",
        "/api/v1/discrepancies/",
        f"/api/v1/discrepancies/?team={theirs.team.slug}",
        f"/api/v1/discrepancies/{theirs.discrepancy.pk}/",
        "/api/v1/invoices/",
        f"/api/v1/invoices/?team={theirs.team.slug}",
        f"/api/v1/invoices/{theirs.invoice.pk}/",
        "/spend/",
        "/spend/?month=2026-03",
        f"/spend/teams/{theirs.team.slug}/",
        f"/spend/keys/{key}/?month=2026-03",
        f"/spend/keys/{key}/generations.csv?month=2026-03",
        f"/spend/keys/{key}/generations/{generation.pk}/",
        "/admin/",
        "/admin/billing/invoice/",
        f"/admin/billing/invoice/{theirs.invoice.pk}/change/",
        f"/admin/billing/invoice/{theirs.invoice.pk}/csv/",
        f"/admin/billing/invoice/{theirs.invoice.pk}/pdf/",
        f"/admin/billing/invoice/{theirs.invoice.pk}/print/",
        "/admin/billing/discrepancy/",
        f"/admin/billing/discrepancy/{theirs.discrepancy.pk}/change/",
        "/admin/billing/discrepancy/overview/",
        "/admin/generations/generation/",
        f"/admin/generations/generation/{generation.pk}/change/",
        "/admin/accounts/apikey/",
        "/admin/accounts/team/",
    ]


def shown(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def test_nobody_outside_the_team_sees_anything_of_it(callers, theirs):
    leaks = []
    for name, client in callers.items():
        for url in their_reads(theirs):
            response = client.get(url)
            assert response.status_code < 500, (name, url, response.status_code)
            # A redirect to the login page repeats the path asked for: that is no leak.
            leaked = [marker for marker in theirs.markers() if marker in shown(response)]
            if leaked:
                leaks.append((name, url, response.status_code, leaked))
    assert leaks == []


def test_their_objects_answer_404_not_403_to_members_of_other_teams(callers, theirs):
    """A 403 would confirm that the object exists."""
    gateway, generation, key = theirs.key.gateway.slug, theirs.generation, theirs.key.slug
    urls = [
        f"/api/v1/generations/{gateway}/{generation.external_id}/",
        f"/api/v1/keys/{key}/spend/",
        f"/api/v1/discrepancies/{theirs.discrepancy.pk}/",
        f"/api/v1/invoices/{theirs.invoice.pk}/",
        f"/spend/teams/{theirs.team.slug}/",
        f"/spend/keys/{key}/",
        f"/spend/keys/{key}/generations.csv",
        f"/spend/keys/{key}/generations/{generation.pk}/",
    ]
    for name in ("member", "viewer", "team admin", "token"):
        for url in urls:
            if url.startswith("/spend/") and name == "token":
                continue
            assert (name, url, callers[name].get(url).status_code) == (name, url, 404)


def test_anonymous_visitors_and_revoked_tokens_are_turned_away(callers, theirs):
    for url in their_reads(theirs):
        anonymous = callers["anonymous"].get(url)
        if url.startswith("/api/"):
            assert anonymous.status_code in (401, 403), url
            assert callers["their revoked token"].get(url).status_code == 401, url
        else:
            assert anonymous.status_code == 302 and "login" in anonymous["Location"], url


def their_state(theirs: TeamData) -> tuple:
    theirs.key.refresh_from_db()
    theirs.discrepancy.refresh_from_db()
    return (
        theirs.key.monthly_budget,
        theirs.discrepancy.status,
        DiscrepancyEvent.objects.filter(discrepancy=theirs.discrepancy).count(),
        Generation.objects.filter(team=theirs.team).count(),
        theirs.invoice.status,
    )


def test_nobody_outside_the_team_changes_anything_of_it(callers, ours, theirs):
    before = their_state(theirs)
    ingest = {
        "generations": [
            {
                "gateway": theirs.key.gateway.slug,
                "id": "planted-by-an-outsider",
                "api_key": theirs.key.slug,
                "model": "openai/gpt-4o",
                "created_at": "2026-03-11T10:00:00+00:00",
                "tokens_prompt": 1,
                "tokens_completion": 1,
                "cost": "1",
            }
        ]
    }
    for name, client in callers.items():
        answers = [
            client.post("/api/v1/generations/", ingest, format="json"),
            client.patch(
                f"/api/v1/discrepancies/{theirs.discrepancy.pk}/",
                {"status": "written_off", "reason": "not ours to judge"},
                format="json",
            ),
            client.post(f"/spend/keys/{theirs.key.slug}/budget/", {"monthly_budget": "1"}),
            client.post(
                "/admin/billing/discrepancy/",
                {"action": "write_off", "_selected_action": [theirs.discrepancy.pk], "reason": "x", "apply": "1"},
            ),
            client.post(f"/admin/billing/invoice/{theirs.invoice.pk}/delete/", {"post": "yes"}),
        ]
        for response in answers:
            assert response.status_code in (302, 400, 401, 403, 404), (name, response.status_code, shown(response)[:300])
    assert their_state(theirs) == before
    assert not Generation.objects.filter(external_id="planted-by-an-outsider").exists()


def test_viewers_read_but_change_nothing_of_their_own_team(callers, ours):
    viewer = callers["viewer"]
    assert viewer.get(f"/spend/keys/{ours.key.slug}/").status_code == 200
    assert viewer.get(f"/api/v1/discrepancies/{ours.discrepancy.pk}/").status_code == 200

    posted = viewer.post("/api/v1/generations/", {"generations": []}, format="json")
    budget = viewer.post(f"/spend/keys/{ours.key.slug}/budget/", {"monthly_budget": "1"})
    patched = viewer.patch(
        f"/api/v1/discrepancies/{ours.discrepancy.pk}/", {"status": "written_off", "reason": "x"}, format="json"
    )

    assert (posted.status_code, budget.status_code, patched.status_code) == (403, 403, 403)
    ours.key.refresh_from_db()
    ours.discrepancy.refresh_from_db()
    assert (ours.key.monthly_budget, ours.discrepancy.status) == (None, "open")


def test_a_read_token_cannot_ingest_and_an_ingest_token_cannot_read(ours):
    _, read_only = AccessToken.issue(team=ours.team, scopes=["read"])
    _, ingest_only = AccessToken.issue(team=ours.team, scopes=["ingest"])
    assert token_client(read_only).post("/api/v1/generations/", {"generations": []}, format="json").status_code == 403
    assert token_client(ingest_only).get("/api/v1/generations/").status_code == 403
    assert token_client(ingest_only).get(f"/api/v1/invoices/{ours.invoice.pk}/").status_code == 403


def test_members_of_our_team_do_see_it(callers, ours):
    """The matrix above would pass if nothing worked at all: the same callers see their own team."""
    for name in ("member", "viewer", "team admin", "token"):
        client = callers[name]
        listed = shown(client.get("/api/v1/generations/"))
        assert ours.generation.external_id in listed, name
        assert Decimal(client.get(f"/api/v1/invoices/{ours.invoice.pk}/").json()["total"]) == Decimal("0"), name


def test_finance_staff_do_see_every_team(theirs):
    """...and the markers would show a leak: finance staff, who may see everything, get them."""
    client = session_client(make_finance_user())
    for url in ("/admin/billing/invoice/", "/api/v1/invoices/", "/admin/billing/discrepancy/"):
        text = shown(client.get(url))
        assert any(marker in text for marker in theirs.markers()), url
