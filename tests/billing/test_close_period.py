from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, InvoiceStatus
from billing.tasks.invoicing import draft_previous_month_invoices, redraft_open_invoices
from generations.models import GenerationState
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key, make_team, reconcile

pytestmark = pytest.mark.django_db


def test_it_drafts_every_teams_invoice_for_the_month():
    acme, globex = make_team("acme"), make_team("globex")
    make_generation(make_key(acme), cost="1.50")
    make_generation(make_key(globex), cost="2.25", charged="2.25", state=GenerationState.VERIFIED)
    out = StringIO()

    call_command("close_period", "2026-03", stdout=out)

    invoices = {invoice.team.slug: invoice for invoice in Invoice.objects.filter(period=PERIOD)}
    assert {slug: invoice.total for slug, invoice in invoices.items()} == {
        "acme": Decimal("1.50"),
        "globex": Decimal("2.25"),
    }
    assert all(invoice.status == InvoiceStatus.DRAFT for invoice in invoices.values())
    assert "2 invoice(s) for 2026-03" in out.getvalue()


def test_running_it_again_redrafts_instead_of_duplicating():
    team = make_team()
    generation = make_generation(make_key(team), cost="1.50")
    call_command("close_period", "2026-03", stdout=StringIO())
    reconcile(generation, state=GenerationState.VERIFIED, charged="1.40")

    call_command("close_period", "2026-03", stdout=StringIO())

    invoice = Invoice.objects.get(team=team, period=PERIOD)
    assert (invoice.total, invoice.verified_amount) == (Decimal("1.40"), Decimal("1.40"))


def test_a_malformed_period_is_refused_with_the_expected_format():
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("close_period", "March", stdout=StringIO())
    assert not Invoice.objects.exists()


def test_the_monthly_task_drafts_the_month_just_ended_and_the_redraft_task_rebuilds_drafts():
    team = make_team()
    now = datetime.now(UTC)
    last_month = date(now.year - 1, 12, 1) if now.month == 1 else date(now.year, now.month - 1, 1)
    generation = make_generation(
        make_key(team), cost="3.00", at=datetime(last_month.year, last_month.month, 2, tzinfo=UTC)
    )

    assert draft_previous_month_invoices() == 1
    reconcile(generation, state=GenerationState.VERIFIED, charged="3.30")
    assert redraft_open_invoices() == 1

    invoice = Invoice.objects.get(team=team)
    assert (invoice.period, invoice.total) == (last_month, Decimal("3.30"))


def test_closing_a_period_drafts_what_drafting_each_team_alone_would():
    from billing.discrepancies import discrepancy_change_status
    from billing.invoicing.drafting import invoice_draft, invoices_draft_period
    from billing.invoicing.finalizing import invoice_finalize
    from billing.models import DiscrepancyStatus
    from tests.billing.invoice_helpers import make_discrepancy, make_finance_user

    finance = make_finance_user()
    plain, decided, finalized = make_team("plain"), make_team("decided"), make_team("finalized")
    plain.invoice_markup = Decimal("0.05")
    plain.save()
    for team in (plain, decided, finalized):
        key = make_key(team)
        make_generation(key, cost="1.005", charged="1.004", state=GenerationState.VERIFIED)
        make_generation(key, cost="0.333")
    disputed = make_generation(make_key(decided, name="second"), cost="2.00", charged="2.60", state=GenerationState.DISPUTED)
    discrepancy_change_status(
        discrepancy=make_discrepancy(disputed), to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="small"
    )
    frozen = invoice_finalize(invoice=invoice_draft(team=finalized, period=PERIOD), by=finance, override_reason="x")

    def snapshot(invoice):
        lines = invoice.lines.order_by("kind", "api_key_id", "model")
        fields = ("kind", "api_key_id", "model", "description", "generations", "tokens", "amount_exact", "amount")
        return (invoice.subtotal, invoice.markup, invoice.total, invoice.verified_amount, list(lines.values_list(*fields)))

    closed = {invoice.team.slug: snapshot(invoice) for invoice in invoices_draft_period(period=PERIOD)}
    alone = {team.slug: snapshot(invoice_draft(team=team, period=PERIOD)) for team in (plain, decided, finalized)}

    assert closed == alone
    assert closed["decided"][4][0][0] == "adjustment" and closed["plain"][1] == Decimal("0.07")
    frozen.refresh_from_db()
    assert snapshot(frozen) == closed["finalized"] and frozen.status == InvoiceStatus.FINALIZED


def test_the_redraft_rebuilds_only_open_drafts_in_a_fixed_number_of_queries_per_month():
    from billing.invoicing.drafting import invoice_draft, invoices_redraft_open
    from billing.invoicing.finalizing import invoice_finalize

    teams = [make_team(f"team-{index}") for index in range(4)]
    generations = [make_generation(make_key(team), cost="2.00") for team in teams]
    drafts = [invoice_draft(team=team, period=PERIOD) for team in teams[:3]]
    make_team("no-invoice")
    finalized = invoice_finalize(invoice=drafts[2], by=make_finance_user("closer"), override_reason="close")
    for generation in generations:
        reconcile(generation, state=GenerationState.VERIFIED, charged="2.50")

    with CaptureQueriesContext(connection) as queries:
        assert invoices_redraft_open() == 2

    assert len(queries) <= 16
    totals = dict(Invoice.objects.filter(period=PERIOD).values_list("team__slug", "total"))
    assert totals == {"team-0": Decimal("2.50"), "team-1": Decimal("2.50"), "team-2": finalized.total}
    assert finalized.total == Decimal("2.00")
