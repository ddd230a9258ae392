"""Coverage where people see it: the discrepancies API, the key's spend page and chart, the
team's verified share, the reconciliation overview and the admin."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership
from billing.coverage.models import CoverageCheck
from billing.coverage.services import coverage_check_day
from billing.models import Discrepancy
from billing.selectors import team_spend_total
from tests.api.test_discrepancies import signed_in
from tests.billing.coverage_world import (
    coverage_world_served,
)
from tests.billing.test_admin_finance import make_finance_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/discrepancies/"


@pytest.fixture
def world(gateway_simulator):
    return coverage_world_served(gateway_simulator)


@pytest.fixture
def checked(world):
    coverage_check_day(gateway=world.gateway, day=world.day)
    return world


def month_of(world) -> str:
    return f"{world.day:%Y-%m}"


def test_the_api_lists_unrecorded_spend_with_its_key_and_day(checked):
    client = signed_in("member", team=checked.team)
    [finding] = client.get(URL, {"kind": "unrecorded_spend"}).json()["results"]
    assert (finding["api_key"], finding["day"], finding["generation"]) == (checked.leaky.slug, checked.day.isoformat(), None)
    assert (finding["gateway"], finding["team"], finding["model"]) == ("openrouter", checked.team.slug, "openai/gpt-4o-mini")
    amounts = tuple(Decimal(finding[name]) for name in ("expected", "actual", "delta"))
    assert amounts == (Decimal("0.002"), Decimal("0.0320005"), Decimal("0.0300005"))
    assert all(isinstance(finding[name], str) for name in ("expected", "actual", "delta"))
    other_day = (checked.day - timedelta(days=1)).isoformat()
    assert client.get(URL, {"kind": "unrecorded_spend", "day": other_day}).json()["results"] == []
    assert len(client.get(URL, {"day": checked.day.isoformat(), "api_key": checked.leaky.slug}).json()["results"]) == 1
    assert client.get(URL, {"day": "yesterday"}).status_code == 400
    assert signed_in("outsider").get(URL, {"kind": "unrecorded_spend"}).json()["results"] == []


def test_finance_acknowledges_a_key_day_finding_with_history(checked):
    finding = Discrepancy.objects.get(kind="unrecorded_spend")
    client = signed_in("fin", finance=True, team=checked.team)
    response = client.patch(f"{URL}{finding.pk}/", {"status": "acknowledged", "reason": "Asked the team"}, format="json")
    assert response.status_code == 200, response.content
    assert list(finding.events.values_list("to_status", flat=True)) == ["open", "acknowledged"]


def test_the_key_page_marks_the_day_and_states_coverage_for_every_day(client, checked):
    user = User.objects.create_user("kim")
    Membership.objects.create(user=user, team=checked.team, role="member")
    client.force_login(user)
    page = client.get(reverse("spend:key", args=[checked.leaky.slug]), {"month": month_of(checked)}).content.decode()
    assert f'data-day="{checked.day:%Y-%m-%d}" data-status="differed"' in page
    assert 'data-flag="coverage"' in page and page.count('data-flag="coverage"') == 1
    assert "billed with no records" in page and "$0.03" in page
    statuses = page.count('data-status="')
    month_start, today = checked.day.replace(day=1), timezone.now().astimezone(UTC).date()
    begun = [month_start + timedelta(days=n) for n in range(31) if month_start + timedelta(days=n) <= today]
    assert statuses == len([day for day in begun if day.month == month_start.month])  # every begun day, no later one
    tidy = client.get(reverse("spend:key", args=[checked.tidy.slug]), {"month": month_of(checked)}).content.decode()
    assert f'data-day="{checked.day:%Y-%m-%d}" data-status="matched"' in tidy and 'data-flag="coverage"' not in tidy


def test_unrecorded_spend_counts_as_unverified_in_the_teams_share(world):
    from generations.models import Generation

    Generation.objects.filter(team=world.team).update(state="verified", charged_cost=models_cost())
    start, end = world.day.replace(day=1), world.day + timedelta(days=1)
    before = team_spend_total(team=world.team, start=start, end=end)
    coverage_check_day(gateway=world.gateway, day=world.day)
    after = team_spend_total(team=world.team, start=start, end=end)
    assert after.amount == before.amount
    assert after.unrecorded_spend == Decimal("0.0300005")
    assert after.verified_share == after.verified_charged_cost / (after.amount + Decimal("0.0300005"))
    assert after.verified_share < Decimal(1)


def models_cost():
    from django.db.models import F

    return F("cost")


def test_the_overview_and_admin_show_coverage_and_the_unknown_key(client, checked):
    client.force_login(make_finance_user())
    overview = client.get(reverse("admin:billing_reconciliation_overview")).content.decode()
    assert "Coverage: what each key was billed per day" in overview
    assert "1 differed" in overview and "1 unknown key" in overview
    check = CoverageCheck.objects.get()
    detail = client.get(reverse("admin:billing_coveragecheck_change", args=[check.pk])).content.decode()
    assert "sk-or-v1-str...ccc" in detail
    listing = client.get(reverse("admin:billing_discrepancy_changelist"), {"kind__exact": "unrecorded_spend"})
    assert listing.status_code == 200 and f"{checked.day}" in listing.content.decode()
    finding = Discrepancy.objects.get(kind="unrecorded_spend")
    assert client.get(reverse("admin:billing_discrepancy_change", args=[finding.pk])).status_code == 200


def test_an_unchecked_gateway_is_stated_as_not_checkable(client, world):
    world.gateway.management_secret_encrypted = ""
    world.gateway.save()
    user = User.objects.create_user("kim")
    Membership.objects.create(user=user, team=world.team, role="member")
    client.force_login(user)
    page = client.get(reverse("spend:key", args=[world.leaky.slug]), {"month": month_of(world)}).content.decode()
    assert f'data-day="{world.day:%Y-%m-%d}" data-status="not_checkable"' in page
    assert "no management key is set" in page


def test_api_client_for_tokens_sees_the_same(checked):
    from accounts.models import AccessToken

    _, token = AccessToken.issue(team=checked.team, scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [item["kind"] for item in client.get(URL, {"kind": "unrecorded_spend"}).json()["results"]] == ["unrecorded_spend"]
