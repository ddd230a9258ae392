"""Amounts that do not fit: ingest refuses them whole, drafting is per team, and no page or
API answer overflows (the reported case: 110 records of 990,000,000,000 USD)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from lib.bounds import column_capacity, team_month_cost_limit
from billing.invoicing.drafting import invoices_redraft_open
from billing.models import Invoice, InvoiceLine
from generations.models import DailySpend, Generation
from tests.api.factories import bearer_client, make_gateways, make_team, record
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key
from tests.billing.invoice_helpers import make_team as make_billing_team

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/generations/"


@pytest.fixture
def world(db):
    return make_team("alpha", make_gateways())


def _post(world, records):
    return bearer_client(world.both_token).post(URL, {"generations": records}, format="json")


def test_the_limit_comes_from_the_columns_every_sum_lands_in():
    limit = team_month_cost_limit()
    invoice_total = column_capacity(Invoice._meta.get_field("total"))
    assert limit <= column_capacity(DailySpend._meta.get_field("recorded_cost"))
    assert limit <= column_capacity(InvoiceLine._meta.get_field("amount_exact"))
    # A month at the limit, with eleven more months of late usage and the largest markup, fits.
    assert limit * 12 * Decimal("100.9999") <= invoice_total


def test_the_reported_burst_of_huge_costs_is_refused_whole_and_month_end_goes_on(world):
    records = [record(world.key, cost="990000000000", model=f"m/{index}") for index in range(110)]

    response = _post(world, records)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {error["field"] for error in errors} == {"cost"}
    assert "at most" in errors[0]["message"] and "USD" in errors[0]["message"]
    assert not Generation.objects.exists() and not DailySpend.objects.exists()
    call_command("close_period", "2026-01", stdout=StringIO())
    assert Invoice.objects.get(team=world.team).total == Decimal("0.00")


def test_costs_each_within_the_limit_that_overflow_the_month_together_are_refused(world):
    limit = team_month_cost_limit()
    first = _post(world, [record(world.key, cost=str(limit - 1))])
    assert first.status_code == 201, first.content

    response = _post(world, [record(world.key, cost="0.5"), record(world.fast_key, cost="1")])

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "cost" and "'alpha'" in error["message"] and "2026-01" in error["message"]
    assert "nothing was written" in error["message"]
    assert Generation.objects.count() == 1
    # Another month still has room.
    assert _post(world, [record(world.key, cost="5", created_at="2026-02-01T00:00:00Z")]).status_code == 201


def test_the_spend_api_answers_for_the_largest_totals_it_can_hold(world):
    limit = team_month_cost_limit()
    for month in range(1, 13):
        response = _post(world, [record(world.key, cost=str(limit), created_at=f"2025-{month:02d}-03T00:00:00Z")])
        assert response.status_code == 201, response.content

    response = bearer_client(world.both_token).get(
        f"/api/v1/keys/{world.key.slug}/spend/?from=2025-01-01&to=2025-12-31"
    )

    assert response.status_code == 200, response.content
    assert Decimal(response.json()["total"]["recorded_cost"]) == limit * 12


def _team_too_large_to_invoice(slug: str):
    """Generations written past ingest (as an old release could have), whose month sums to more
    than an invoice holds."""
    team = make_billing_team(slug, markup="99")
    key = make_key(team)
    for index in range(3):
        make_generation(key, cost="990000000000", model=f"m/{index}")
    return team


def test_one_teams_draft_that_cannot_fit_never_stops_another_teams():
    huge = _team_too_large_to_invoice("huge")
    small = make_billing_team("small")
    make_generation(make_key(small), cost="1.50")
    errors = StringIO()

    with pytest.raises(CommandError, match="1 team"):
        call_command("close_period", "2026-03", stdout=StringIO(), stderr=errors)

    assert Invoice.objects.get(team=small, period=PERIOD).total == Decimal("1.50")
    failed = Invoice.objects.get(team=huge, period=PERIOD)
    assert "too large" in failed.draft_error and not failed.lines.exists()
    assert "huge" in errors.getvalue()
    # The redraft job goes on past it too.
    assert invoices_redraft_open() == 1
    # Finance sees it on the invoice list.
    page = Client()
    page.force_login(make_finance_user())
    assert "too large" in page.get("/admin/billing/invoice/").content.decode()


def test_finalizing_an_invoice_that_cannot_fit_is_refused_in_the_admin_not_a_500(client):
    huge = _team_too_large_to_invoice("huge")
    invoice = Invoice.objects.create(team=huge, period=PERIOD)
    finance = make_finance_user()
    finance.is_superuser = True
    finance.save()
    client.force_login(finance)

    response = client.post(
        "/admin/billing/invoice/",
        {"action": "finalize", "_selected_action": [invoice.pk], "apply": "1", "override": "on", "reason": "r"},
        follow=True,
    )

    assert response.status_code == 200
    assert "too large" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "draft" and invoice.number is None
    assert client.get("/admin/billing/invoice/").status_code == 200
    assert client.get("/api/v1/invoices/").status_code == 200
