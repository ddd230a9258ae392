"""Finance powers (every team's invoices and discrepancies in the API, writing discrepancies off,
exports) need an active staff user in the Finance group, or a superuser, everywhere; removing
staff status revokes all of it."""

from datetime import date

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.test import APIClient

from accounts.access import user_is_finance
from billing.discrepancies import discrepancy_change_status
from billing.models import DiscrepancyStatus, Invoice
from lib.errors import NotAllowed
from tests.billing.invoice_helpers import (
    finance_group,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_team,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_team():
    team = make_team("secretive")
    generation = make_generation(make_key(team), cost="1.00", state="disputed")
    invoice = Invoice.objects.create(team=team, period=date(2026, 3, 1))
    return team, make_discrepancy(generation), invoice


def _group_member_not_staff() -> User:
    user = User.objects.create_user("group-only", password="x-long-password-1")
    user.groups.add(finance_group())
    return user


def _staff_with_permissions_outside_finance() -> User:
    user = User.objects.create_user("staffer", password="x-long-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="billing"))
    return user


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _cannot_use_finance_powers(user, other_team) -> None:
    team, discrepancy, invoice = other_team
    assert not user_is_finance(user)
    api = _api(user)
    assert api.get("/api/v1/invoices/").json()["results"] == []
    assert api.get("/api/v1/discrepancies/").json()["results"] == []
    patch = api.patch(f"/api/v1/discrepancies/{discrepancy.pk}/", {"status": "written_off", "reason": "x"}, format="json")
    assert patch.status_code in (403, 404)
    with pytest.raises(NotAllowed):
        discrepancy_change_status(discrepancy=discrepancy, to_status=DiscrepancyStatus.WRITTEN_OFF, by=user, reason="x")
    page = Client()
    page.force_login(user)
    for url in (f"/admin/billing/invoice/{invoice.pk}/csv/", f"/admin/billing/invoice/{invoice.pk}/pdf/"):
        assert page.get(url).status_code in (302, 403), url
    bulk = page.post("/admin/billing/invoice/", {"action": "export_csv", "_selected_action": [invoice.pk]})
    assert bulk.get("Content-Type", "") != "text/csv"
    write_off = page.post(
        "/admin/billing/discrepancy/",
        {"action": "write_off", "_selected_action": [discrepancy.pk], "apply": "1", "reason": "x"},
    )
    assert write_off.status_code in (200, 302, 403)
    discrepancy.refresh_from_db()
    assert discrepancy.status == DiscrepancyStatus.OPEN


def test_a_finance_group_member_who_is_not_staff_has_no_finance_powers(other_team):
    _cannot_use_finance_powers(_group_member_not_staff(), other_team)


def test_staff_with_billing_permissions_outside_finance_cannot_write_off_or_export(other_team):
    _cannot_use_finance_powers(_staff_with_permissions_outside_finance(), other_team)


def test_finance_staff_have_them_and_removing_staff_status_revokes_them(other_team):
    team, discrepancy, invoice = other_team
    finance = make_finance_user()
    assert len(_api(finance).get("/api/v1/invoices/").json()["results"]) == 1
    page = Client()
    page.force_login(finance)
    assert page.get(f"/admin/billing/invoice/{invoice.pk}/csv/").status_code == 200

    finance.is_staff = False
    finance.save()
    finance = User.objects.get(pk=finance.pk)

    _cannot_use_finance_powers(finance, other_team)


def test_an_inactive_finance_user_is_not_finance():
    finance = make_finance_user()
    finance.is_active = False
    assert not user_is_finance(finance)
