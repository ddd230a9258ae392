"""Late generations and settled findings: nothing lost, nothing credited without being billed,
no invoice negative through adjustments, no markup on a credit."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.discrepancies import discrepancy_change_status
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.models import DiscrepancyKind, DiscrepancyStatus, InvoiceLine
from generations.models import GenerationState
from tests.billing.invoice_helpers import (
    PERIOD,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_team,
    reconcile,
)

pytestmark = pytest.mark.django_db
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)


def _in(period: date, day: int = 5) -> datetime:
    return datetime(period.year, period.month, day, 12, tzinfo=UTC)


def _finalize(team, period, finance):
    return invoice_finalize(invoice=invoice_draft(team=team, period=period), by=finance, override_reason="close")


def test_a_generation_posted_after_its_month_was_finalized_is_billed_on_the_next_draft_naming_its_month():
    team, finance = make_team(), make_finance_user()
    key = make_key(team)
    make_generation(key, cost="5.00", charged="5.00", state=GenerationState.VERIFIED)
    march = _finalize(team, PERIOD, finance)
    make_generation(key, cost="3.25", at=_in(PERIOD, 20))  # posted late, for March
    make_generation(key, cost="1.00", at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)

    late = april.lines.get(kind=InvoiceLine.Kind.LATE_USAGE)
    assert (late.amount, late.generations, late.usage_period) == (Decimal("3.25"), 1, PERIOD)
    assert "2026-03" in late.description and "Late usage" in late.description
    assert april.total == Decimal("4.25")
    march.refresh_from_db()
    assert march.total == Decimal("5.00")
    # Billed once: once April is finalized, May carries nothing of March.
    _finalize(team, APRIL, finance)
    assert not invoice_draft(team=team, period=MAY).lines.exists()


def test_a_late_generation_written_off_is_never_a_credit_of_what_was_not_billed():
    """The reported case: a 1000 USD generation posted after month-end, its missing_upstream
    finding written off, made the next draft a credit of -1049.96."""
    team, finance = make_team(markup="0.05"), make_finance_user()
    key = make_key(team)
    make_generation(key, cost="10.00", charged="10.00", state=GenerationState.VERIFIED)
    _finalize(team, PERIOD, finance)
    late = make_generation(key, cost="1000.00", state=GenerationState.MISSING, at=_in(PERIOD, 30))
    finding = make_discrepancy(late, kind=DiscrepancyKind.MISSING_UPSTREAM)
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="x")

    april = invoice_draft(team=team, period=APRIL)

    kinds = {line.kind: line.amount for line in april.lines.all()}
    assert kinds == {InvoiceLine.Kind.LATE_USAGE: Decimal("1000.00"), InvoiceLine.Kind.ADJUSTMENT: Decimal("-1000.00")}
    assert april.subtotal == Decimal("0.00")
    # Markup is on what is charged, never reduced (or made negative) by a credit.
    assert april.markup == Decimal("50.00") and april.total == Decimal("50.00")


def test_a_decision_on_a_generation_never_billed_adjusts_nothing():
    team, finance = make_team(), make_finance_user()
    key = make_key(team)
    unbilled = make_generation(key, cost="7.00", state=GenerationState.DISPUTED)  # March: never drafted
    finding = make_discrepancy(unbilled)
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="x")
    make_generation(key, cost="20.00", charged="20.00", state=GenerationState.VERIFIED, at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)

    assert not april.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()
    assert april.total == Decimal("20.00")
    # When March is drafted, the decision lands beside the usage it reverses.
    march = invoice_draft(team=team, period=PERIOD)
    assert march.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT).amount == Decimal("-7.00")
    assert march.total == Decimal("0.00")


def test_no_invoice_total_goes_negative_through_a_credit_which_waits_for_a_later_draft():
    team, finance = make_team(), make_finance_user()
    key = make_key(team)
    disputed = make_generation(key, cost="8.00", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    _finalize(team, PERIOD, finance)
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="x")
    make_generation(key, cost="3.00", charged="3.00", state=GenerationState.VERIFIED, at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)
    assert april.total == Decimal("3.00")
    assert not april.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()

    _finalize(team, APRIL, finance)
    make_generation(key, cost="12.00", charged="12.00", state=GenerationState.VERIFIED, at=_in(MAY))
    may = invoice_draft(team=team, period=MAY)
    assert may.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT).amount == Decimal("-8.00")
    assert may.total == Decimal("4.00")


def test_markup_never_applies_to_a_credit():
    team, finance = make_team(markup="0.10"), make_finance_user()
    key = make_key(team)
    disputed = make_generation(key, cost="2.00", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    _finalize(team, PERIOD, finance)
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="x")
    make_generation(key, cost="10.00", charged="10.00", state=GenerationState.VERIFIED, at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)

    assert (april.subtotal, april.markup, april.total) == (Decimal("8.00"), Decimal("1.00"), Decimal("9.00"))


def test_a_generation_verified_after_finalizing_is_trued_up_on_the_next_draft():
    team, finance = make_team(), make_finance_user()
    key = make_key(team)
    pending = make_generation(key, cost="4.00")
    _finalize(team, PERIOD, finance)  # billed provisionally at the recorded 4.00
    reconcile(pending, state=GenerationState.VERIFIED, charged="3.99")
    make_generation(key, cost="1.00", charged="1.00", state=GenerationState.VERIFIED, at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)

    late = april.lines.get(kind=InvoiceLine.Kind.LATE_USAGE)
    assert (late.amount, late.generations) == (Decimal("-0.01"), 0)
    assert april.total == Decimal("0.99")


def test_the_verified_share_is_a_share_of_usage_whatever_the_credits():
    team, finance = make_team(), make_finance_user()
    key = make_key(team)
    disputed = make_generation(key, cost="9.99", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    _finalize(team, PERIOD, finance)
    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="x")
    make_generation(key, cost="10.00", charged="10.00", state=GenerationState.VERIFIED, at=_in(APRIL))

    april = invoice_draft(team=team, period=APRIL)

    assert april.subtotal == Decimal("0.01")
    assert april.verified_share == Decimal("1.0000")
    assert invoice_draft(team=make_team("empty"), period=APRIL).verified_share is None
