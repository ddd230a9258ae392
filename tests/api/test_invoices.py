"""GET /api/v1/invoices/ and /api/v1/invoices/{id}/."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from billing.models import Invoice, InvoiceLine

URL = "/api/v1/invoices/"


def make_invoice(world, period: date, *, finalize: str | None = None) -> Invoice:
    invoice = Invoice.objects.create(
        team=world.team,
        period=period,
        subtotal=Decimal("12.34"),
        markup=Decimal("0.62"),
        total=Decimal("12.96"),
        verified_amount=Decimal("6.17"),
        usage_amount=Decimal("12.34"),
    )
    InvoiceLine.objects.create(
        invoice=invoice, api_key=world.key, model="m/a", generations=3, tokens=360, amount=Decimal("12.00")
    )
    InvoiceLine.objects.create(
        invoice=invoice, api_key=world.fast_key, model="m/b", generations=1, tokens=12, amount=Decimal("0.34")
    )
    if finalize:
        Invoice.objects.filter(pk=invoice.pk).update(status="finalized", number=finalize)
        invoice.refresh_from_db()
    return invoice


def test_it_lists_the_teams_invoices_with_totals_in_cents(team_a, team_b):
    make_invoice(team_a, date(2026, 1, 1), finalize="TAL-2026-0001")
    make_invoice(team_b, date(2026, 1, 1))

    response = team_a.client(team_a.read_token).get(URL)

    assert response.status_code == 200
    [invoice] = response.json()["results"]
    assert invoice["number"] == "TAL-2026-0001"
    assert (invoice["team"], invoice["period"], invoice["status"], invoice["currency"]) == (
        "alpha",
        "2026-01",
        "finalized",
        "USD",
    )
    assert (invoice["subtotal"], invoice["markup"], invoice["total"]) == ("12.34", "0.62", "12.96")
    assert invoice["verified_share"] == "0.5000"
    assert "lines" not in invoice


def test_an_invoice_shows_its_lines(team_a):
    invoice = make_invoice(team_a, date(2026, 1, 1))

    body = team_a.client().get(f"{URL}{invoice.pk}/").json()

    assert body["id"] == invoice.pk and body["number"] is None
    lines = [(line["api_key"], line["model"], line["generations"], line["tokens"], line["amount"]) for line in body["lines"]]
    assert sorted(lines) == [("alpha-fast", "m/b", 1, 12, "0.34"), ("alpha-key", "m/a", 3, 360, "12.00")]


def test_an_adjustment_line_has_no_key(team_a):
    invoice = make_invoice(team_a, date(2026, 2, 1))
    InvoiceLine.objects.create(invoice=invoice, kind="adjustment", description="Refund", amount=Decimal("-1.50"))

    lines = team_a.client().get(f"{URL}{invoice.pk}/").json()["lines"]

    adjustments = [(line["api_key"], line["amount"], line["description"]) for line in lines if line["kind"] == "adjustment"]
    assert adjustments == [(None, "-1.50", "Refund")]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "draft"}, ["2026-02"]),
        ({"period": "2026-01"}, ["2026-01"]),
        ({"team": "alpha"}, ["2026-01", "2026-02"]),
        ({"team": "beta"}, []),
    ],
)
def test_it_filters(team_a, team_b, filters, expected):
    make_invoice(team_a, date(2026, 1, 1), finalize="TAL-1")
    make_invoice(team_a, date(2026, 2, 1))
    make_invoice(team_b, date(2026, 2, 1))

    response = team_a.client().get(URL, filters)

    assert [invoice["period"] for invoice in response.json()["results"]] == expected


@pytest.mark.parametrize("filters", [{"period": "2026-13"}, {"period": "January"}, {"status": "paid"}])
def test_it_answers_400_for_a_bad_filter(team_a, filters):
    assert team_a.client().get(URL, filters).status_code == 400


def test_an_invoice_of_another_team_is_not_found(team_a, team_b):
    theirs = make_invoice(team_b, date(2026, 1, 1))

    assert team_a.client().get(f"{URL}{theirs.pk}/").status_code == 404
    assert team_a.client().get(f"{URL}{theirs.pk + 100}/").status_code == 404
    assert team_a.client(team_a.ingest_token).get(URL).status_code == 403


def test_finance_sees_every_teams_invoices(team_a, team_b):
    make_invoice(team_a, date(2026, 1, 1))
    theirs = make_invoice(team_b, date(2026, 1, 1))
    finance = User.objects.create_user("finance", is_staff=True)
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    client = APIClient()
    client.force_login(finance)

    assert len(client.get(URL).json()["results"]) == 2
    assert client.get(f"{URL}{theirs.pk}/").status_code == 200
