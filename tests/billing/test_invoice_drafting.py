from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.invoicing.drafting import invoice_draft
from billing.models import InvoiceLine, InvoiceStatus
from generations.models import GenerationState
from tests.billing.invoice_helpers import PERIOD, make_generation, make_key, make_team, reconcile

pytestmark = pytest.mark.django_db


def test_it_bills_charged_cost_where_verified_and_recorded_cost_elsewhere():
    team = make_team()
    prod, batch = make_key(team, "prod"), make_key(team, "batch")
    make_generation(prod, cost="1.000000", charged="1.100000", state=GenerationState.VERIFIED)
    make_generation(prod, cost="2.000000", charged="2.500000", state=GenerationState.DISPUTED)
    make_generation(prod, cost="0.500000")  # pending
    make_generation(
        batch, cost="3.000000", charged="3.000000", state=GenerationState.VERIFIED, model="anthropic/claude"
    )
    make_generation(batch, cost="9.000000", at=datetime(2026, 4, 1, tzinfo=UTC))  # next month

    invoice = invoice_draft(team=team, period=PERIOD)

    lines = {(line.api_key.name, line.model): line for line in invoice.lines.select_related("api_key")}
    assert set(lines) == {("prod", "openai/gpt-4o"), ("batch", "anthropic/claude")}
    prod_line = lines[("prod", "openai/gpt-4o")]
    assert (prod_line.generations, prod_line.tokens) == (3, 450)
    assert prod_line.amount == Decimal("3.60")  # 1.10 verified + 2.00 + 0.50 recorded
    assert prod_line.verified_amount == Decimal("1.10")
    assert invoice.subtotal == Decimal("6.60")
    assert invoice.verified_amount == Decimal("4.10")
    assert invoice.verified_share == Decimal("0.6212")
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None


def test_it_rebuilds_the_draft_as_reconciliation_proceeds():
    team = make_team()
    key = make_key(team)
    pending = make_generation(key, cost="1.00")
    first = invoice_draft(team=team, period=PERIOD)
    assert (first.total, first.verified_amount) == (Decimal("1.00"), Decimal("0.00"))

    reconcile(pending, state=GenerationState.VERIFIED, charged="1.25")
    again = invoice_draft(team=team, period=PERIOD)

    assert again.pk == first.pk
    assert (again.total, again.verified_amount) == (Decimal("1.25"), Decimal("1.25"))
    assert InvoiceLine.objects.filter(invoice=again).count() == 1


def test_it_adds_the_team_markup_rounded_once():
    team = make_team(markup="0.0500")
    make_generation(make_key(team), cost="10.01", charged="10.01", state=GenerationState.VERIFIED)

    invoice = invoice_draft(team=team, period=PERIOD)

    assert invoice.subtotal == Decimal("10.01")
    assert invoice.markup == Decimal("0.50")  # 0.5005: below the half, every mode agrees
    assert invoice.total == Decimal("10.51")


def test_exact_halves_go_to_the_even_cent_on_lines_and_on_the_markup():
    """0.015 and 0.025 both round to 0.02 only with ROUND_HALF_EVEN (half-up: 0.02 and 0.03,
    half-down or truncating: 0.01 and 0.02); so do markups of 0.515 and 0.525."""
    team = make_team(markup="0.0500")
    key = make_key(team)
    make_generation(key, cost="0.015", charged="0.015", state=GenerationState.VERIFIED, model="m/odd")
    make_generation(key, cost="0.025", charged="0.025", state=GenerationState.VERIFIED, model="m/even")
    make_generation(key, cost="10.26", charged="10.26", state=GenerationState.VERIFIED, model="m/rest")
    second = make_team("second", markup="0.0500")
    make_generation(make_key(second), cost="10.50", charged="10.50", state=GenerationState.VERIFIED)

    invoice = invoice_draft(team=team, period=PERIOD)
    other = invoice_draft(team=second, period=PERIOD)

    assert {line.model: line.amount for line in invoice.lines.all()} == {
        "m/odd": Decimal("0.02"),
        "m/even": Decimal("0.02"),
        "m/rest": Decimal("10.26"),
    }
    assert invoice.subtotal == Decimal("10.30")
    assert invoice.markup == Decimal("0.52")  # 0.515: up to the even cent
    assert other.markup == Decimal("0.52")  # 0.525: down to the even cent
    assert (invoice.total, other.total) == (Decimal("10.82"), Decimal("11.02"))


def test_rounding_adds_up_on_an_invoice_of_many_sub_cent_lines():
    team = make_team()
    key = make_key(team)
    exact_total = Decimal(0)
    for index in range(40):
        cost = Decimal("0.004") + Decimal(index) / Decimal(10_000)  # 0.0040 .. 0.0079
        make_generation(key, cost=str(cost), charged=str(cost), state=GenerationState.VERIFIED, model=f"m/{index:02d}")
        exact_total += cost

    invoice = invoice_draft(team=team, period=PERIOD)
    lines = list(invoice.lines.all())

    assert len(lines) == 40
    assert all(line.amount == line.amount_exact.quantize(Decimal("0.01")) for line in lines)
    assert invoice.subtotal == sum(line.amount for line in lines)
    assert invoice.total == invoice.subtotal
    assert sum(line.amount_exact for line in lines) == exact_total
    # Half-even on exact halves: 0.0050 -> 0.00, 0.0150 would go to 0.02.
    assert {line.amount_exact: line.amount for line in lines}[Decimal("0.0050")] == Decimal("0.00")
