"""manage.py finalize_invoices: the admin's Finalize action from the command line, and the
month checks both share."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.invoicing.drafting import InvoiceStateError, invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.periods import period_of
from billing.models import Invoice, InvoiceStatus
from generations.models import GenerationState
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db


def _settled_team(slug: str, cost: str = "2.00"):
    team = make_team(slug)
    make_generation(make_key(team), cost=cost, charged=cost, state=GenerationState.VERIFIED)
    invoice_draft(team=team, period=PERIOD)
    return team


def test_it_finalizes_the_months_drafts_with_gapless_numbers():
    _settled_team("acme"), _settled_team("globex")
    out = StringIO()

    call_command("finalize_invoices", "2026-03", stdout=out)

    numbers = sorted(Invoice.objects.filter(period=PERIOD).values_list("number", flat=True))
    year = timezone.now().year
    assert numbers == [f"INV-{year}-000001", f"INV-{year}-000002"]
    assert "2 of 2 invoice(s) for 2026-03 finalized" in out.getvalue()


def test_an_unsettled_draft_needs_an_override_reason_and_the_others_go_on():
    _settled_team("acme")
    pending = make_team("pending")
    make_generation(make_key(pending), cost="1.00")
    invoice_draft(team=pending, period=PERIOD)
    errors = StringIO()

    with pytest.raises(CommandError, match="1 invoice"):
        call_command("finalize_invoices", "2026-03", stdout=StringIO(), stderr=errors)

    assert "pending: not finalized" in errors.getvalue() and "override" in errors.getvalue()
    assert Invoice.objects.get(team__slug="acme").status == InvoiceStatus.FINALIZED
    call_command("finalize_invoices", "2026-03", "--team", "pending", "--override-reason", "month-end", stdout=StringIO())
    invoice = Invoice.objects.get(team=pending)
    assert (invoice.status, invoice.override_reason) == (InvoiceStatus.FINALIZED, "month-end")
    assert invoice.number.endswith("000002")


def test_a_month_that_has_not_ended_is_never_finalized_override_or_not():
    team = make_team()
    this_month = period_of(timezone.now().date())
    draft = invoice_draft(team=team, period=this_month)

    with pytest.raises(InvoiceStateError, match="has not ended"):
        invoice_finalize(invoice=draft, by=make_finance_user(), override_reason="please")
    with pytest.raises(CommandError, match="has not ended"):
        call_command("finalize_invoices", f"{this_month:%Y-%m}", "--override-reason", "x", stdout=StringIO())
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None


def test_close_period_refuses_a_future_month_and_impossible_ones_in_one_line():
    make_team()
    future = date(timezone.now().year + 1, 1, 1)
    for month in (f"{future:%Y-%m}", "9999-12", "2026-00"):
        with pytest.raises(CommandError) as refused:
            call_command("close_period", month, stdout=StringIO())
        assert "\n" not in str(refused.value)
    assert not Invoice.objects.exists()


def test_no_drafts_and_unknown_teams_are_one_line_errors():
    with pytest.raises(CommandError, match="close_period 2026-03"):
        call_command("finalize_invoices", "2026-03", stdout=StringIO())
    _settled_team("acme")
    with pytest.raises(CommandError, match="No team"):
        call_command("finalize_invoices", "2026-03", "--team", "nope", stdout=StringIO())
