from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.discrepancies import discrepancy_change_status
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.models import DiscrepancyStatus, InvoiceLine
from generations.models import GenerationState
from tests.billing.invoice_helpers import (
    PERIOD,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_team,
)

pytestmark = pytest.mark.django_db
APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)


def _in(period: date) -> datetime:
    return datetime(period.year, period.month, 5, 12, tzinfo=UTC)


def _finalized_march_with_a_dispute():
    team = make_team()
    key = make_key(team)
    make_generation(key, cost="5.00", charged="5.00", state=GenerationState.VERIFIED)
    disputed = make_generation(key, cost="2.00", charged="2.60", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    finance = make_finance_user()
    march = invoice_finalize(invoice=invoice_draft(team=team, period=PERIOD), by=finance, override_reason="close")
    return team, finding, finance, march


def test_a_write_off_after_finalization_lands_on_the_next_invoice_once():
    team, finding, finance, march = _finalized_march_with_a_dispute()
    assert march.total == Decimal("7.00")

    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=finance, reason="gone")
    make_generation(
        finding.generation.api_key, cost="3.00", charged="3.00", state=GenerationState.VERIFIED, at=_in(APRIL)
    )
    april = invoice_draft(team=team, period=APRIL)

    adjustment = april.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT)
    assert adjustment.discrepancy == finding
    assert adjustment.amount == Decimal("-2.00")
    assert "Written off" in adjustment.description and "2026-03" in adjustment.description
    assert april.total == Decimal("1.00")
    march.refresh_from_db()
    assert march.total == Decimal("7.00") and not march.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()

    # Redrafting April, or drafting May, does not carry it twice.
    assert invoice_draft(team=team, period=APRIL).lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).count() == 1
    assert not invoice_draft(team=team, period=MAY).lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()


def test_resolving_at_the_gateways_figure_adjusts_by_the_difference():
    team, finding, finance, _ = _finalized_march_with_a_dispute()

    discrepancy_change_status(discrepancy=finding, to_status=DiscrepancyStatus.RESOLVED, by=finance, reason="ok")
    april = invoice_draft(team=team, period=APRIL)

    assert april.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT).amount == Decimal("0.60")


def test_a_decision_in_a_draft_period_stays_on_that_periods_draft():
    team = make_team()
    disputed = make_generation(make_key(team), cost="2.00", charged="2.60", state=GenerationState.DISPUTED)
    finding = make_discrepancy(disputed)
    invoice_draft(team=team, period=APRIL)  # a later draft exists too
    discrepancy_change_status(
        discrepancy=finding, to_status=DiscrepancyStatus.WRITTEN_OFF, by=make_finance_user(), reason="x"
    )

    march = invoice_draft(team=team, period=PERIOD)
    april = invoice_draft(team=team, period=APRIL)

    assert march.lines.get(kind=InvoiceLine.Kind.ADJUSTMENT).amount == Decimal("-2.00")
    assert march.total == Decimal("0.00")
    assert not april.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).exists()


def test_open_discrepancies_make_no_adjustment():
    team, _, _, _ = _finalized_march_with_a_dispute()
    assert not invoice_draft(team=team, period=APRIL).lines.exists()
