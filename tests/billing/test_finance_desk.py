"""The finance desk without a browser: the dashboard, case files, invoice page actions, the
invoice document (PDF text read back with pypdf), history entries, and no dead ends."""

import html
import io
import logging
import logging.config
from datetime import UTC, datetime
from decimal import Decimal

import pypdf
import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.pdf import invoice_pdf
from billing.invoicing.voiding import invoice_void
from billing.models import Discrepancy, DiscrepancyKind, DiscrepancyStatus, Invoice, InvoiceStatus
from generations.models import GatewayRecord, GenerationState
from tests.billing.invoice_helpers import (
    PERIOD,
    make_discrepancy,
    make_finance_user,
    make_generation,
    make_key,
    make_member,
    make_team,
)

pytestmark = pytest.mark.django_db
MONTH = f"{PERIOD:%Y-%m}"


@pytest.fixture
def world():
    team = make_team("acme", markup="0.0525")
    team.name, team.bill_to_name, team.bill_to_address = "Acme Research", "Acme Research Ltd", "1 Main St\nSpringfield"
    team.save()
    key = make_key(team)
    make_generation(key, cost="9.04", charged="9.04", state=GenerationState.VERIFIED)
    disputed = make_generation(key, cost="0.96", charged="1.20", state=GenerationState.DISPUTED, tokens=(100, 50))
    GatewayRecord.objects.create(
        generation=disputed, total_cost=Decimal("1.2"), tokens_prompt=100, tokens_completion=6161, raw="{}"
    )
    cost = make_discrepancy(disputed)
    tokens = Discrepancy.objects.create(
        generation=disputed,
        kind=DiscrepancyKind.TOKEN_MISMATCH,
        severity="error",
        expected=Decimal(50),
        actual=Decimal(6161),
        delta=Decimal(6111),
    )
    return {"team": team, "key": key, "disputed": disputed, "cost": cost, "tokens": tokens}


@pytest.fixture
def finance(client):
    user = make_finance_user()
    client.force_login(user)
    client.user = user
    return client


def test_money_at_stake_adds_dollars_only(finance, world):
    page = finance.get(reverse("admin:billing_reconciliation_overview"), {"month": MONTH})
    by_kind = {row.kind: row for row in page.context["open_by_kind"]}
    assert by_kind["cost_mismatch"].money_at_stake == Decimal("0.24")
    assert by_kind["token_mismatch"].money_at_stake is None  # 6,111 tokens are not dollars
    text = page.content.decode()
    assert "$0.24" in text and "6,111" not in text and "Token counts differ" in text

    dashboard = finance.get(reverse("admin:index"), {"month": MONTH}).context["dashboard"]
    assert (dashboard.money_at_stake, dashboard.open_count) == (Decimal("0.24"), 2)
    assert dashboard.spend.amount == Decimal("10.00") and dashboard.largest_open == [world["cost"]]


def test_the_discrepancy_list_writes_each_difference_in_its_unit(finance, world):
    text = finance.get(reverse("admin:billing_discrepancy_changelist")).content.decode()
    assert "+$0.24" in text and "+6,111 tokens" in text
    by_stake = finance.get(reverse("admin:billing_discrepancy_changelist"), {"o": "5"}).context["cl"].result_list
    assert list(by_stake)[0] == world["cost"]  # money first; token counts never outrank dollars


def test_partial_ids_and_models_find_discrepancies(finance, world):
    external_id = world["disputed"].external_id
    for term in (external_id, external_id[-4:], "gpt-4o"):
        found = finance.get(reverse("admin:billing_discrepancy_changelist"), {"q": term}).context["cl"].result_list
        assert set(found) == {world["cost"], world["tokens"]}, term
    assert not finance.get(reverse("admin:billing_discrepancy_changelist"), {"q": "nothing-like-it"}).context[
        "cl"
    ].result_list


def test_the_case_file_reads_as_one_and_decides_with_buttons(finance, world):
    url = reverse("admin:billing_discrepancy_change", args=[world["tokens"].pk])
    page = finance.get(url)
    text = page.content.decode()
    assert page.context["title"] == f"Token counts differ on openrouter {world['disputed'].external_id}"
    assert "Our token counts differ from the gateway&#x27;s native counts." in text
    assert "+6,111 tokens" in text and 'name="_save"' not in text
    differing = [row.label for row in page.context["comparison"] if row.differs]
    assert differing == ["Completion tokens", "Cost (recorded / charged)"]
    assert reverse("admin:generations_generation_change", args=[world["disputed"].pk]) in text
    assert reverse("admin:accounts_apikey_change", args=[world["key"].pk]) in text

    decide = reverse("admin:billing_discrepancy_decide", args=[world["tokens"].pk])
    refused = finance.post(decide, {"decision": "resolve", "reason": "  "})
    assert refused.status_code == 302 and Discrepancy.objects.get(pk=world["tokens"].pk).status == "open"
    finance.post(decide, {"decision": "resolve", "reason": "Reasoning tokens, billed as completion"})
    assert Discrepancy.objects.get(pk=world["tokens"].pk).status == DiscrepancyStatus.RESOLVED
    history = finance.get(url).context["history"]
    assert history[-1][1] == "finance resolved it: Reasoning tokens, billed as completion"
    entry = LogEntry.objects.get(object_id=str(world["tokens"].pk))
    assert entry.user == finance.user and "Reasoning tokens" in entry.get_change_message()


def test_a_key_day_finding_without_a_generation_has_a_case_file_too(finance, world):
    finding = world["cost"]
    finding.generation = None  # what a coverage finding looks like, unsaved: no generation
    from billing.admin.discrepancies import case_title

    assert case_title(finding) == "Cost differs on key prod"


def test_finalize_with_an_override_void_and_replace_from_the_invoice_page(finance, world):
    invoice = invoice_draft(team=world["team"], period=PERIOD)
    page = finance.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    for action in ("finalize", "void", "redraft", "pdf", "csv"):
        assert reverse(f"admin:billing_invoice_{action}", args=[invoice.pk]) in page, action

    finalize = reverse("admin:billing_invoice_finalize", args=[invoice.pk])
    finance.post(finalize, {"reason": ""})  # unsettled, no override: refused, still a draft
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
    finance.post(finalize, {"override": "on", "reason": "Month-end: the token dispute is cosmetic"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.FINALIZED and invoice.number

    page = finance.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:auth_user_change", args=[finance.user.pk]) not in page  # "finalized by" is no dead end
    assert ">finance<" in page

    finance.post(reverse("admin:billing_invoice_void", args=[invoice.pk]), {"reason": "Wrong address"})
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    replaced = finance.post(reverse("admin:billing_invoice_redraft", args=[invoice.pk]))
    replacement = Invoice.objects.exclude(pk=invoice.pk).get(team=world["team"], period=PERIOD)
    assert replaced["Location"] == reverse("admin:billing_invoice_change", args=[replacement.pk])
    assert replacement.status == InvoiceStatus.DRAFT and replacement.total == invoice.total

    history = [entry.get_change_message() for entry in LogEntry.objects.filter(object_id=str(invoice.pk))]
    assert any(message.startswith("Finalized as") for message in history)
    assert "Voided: Wrong address" in history
    assert any(message.startswith("Replaced by") for message in history)
    recent = finance.get(reverse("admin:index")).content.decode()
    assert html.escape(str(invoice)) in recent.split("Recent actions", 1)[1]


def test_the_invoice_list_adds_up_what_is_shown(finance, world):
    other = make_team("globex")
    make_generation(make_key(other, "batch"), cost="2.50", charged="2.50", state=GenerationState.VERIFIED)
    invoice_draft(team=world["team"], period=PERIOD)
    void = invoice_void(invoice=invoice_draft(team=other, period=PERIOD), by=finance.user, reason="test")
    invoice_draft(team=other, period=PERIOD)
    totals = finance.get(reverse("admin:billing_invoice_changelist")).context["totals"]
    expected = sum(i.total for i in Invoice.objects.exclude(pk=void.pk))
    assert totals["total"] == f"USD {expected:,.2f}"


def _pdf_text(invoice: Invoice) -> str:
    reader = pypdf.PdfReader(io.BytesIO(invoice_pdf(invoice)))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_has_issuer_bill_to_dates_number_and_watermark(world, settings):
    settings.TALLY_INVOICE_ISSUER_NAME = "Tally Billing GmbH"
    settings.TALLY_INVOICE_ISSUER_ADDRESS = "Hauptstrasse 5\n10115 Berlin"
    settings.TALLY_INVOICE_DUE_DAYS = 14
    draft = invoice_draft(team=world["team"], period=PERIOD)
    text = _pdf_text(draft)
    for expected in ("Tally Billing GmbH", "Hauptstrasse 5", "10115 Berlin", "Acme Research Ltd", "1 Main St"):
        assert expected in text
    assert "Springfield" in text and "DRAFT" in text and "Page 1 of 1" in text and "March 2026" in text
    assert "Markup (5.25%)" in text and "90.4% of the subtotal" in text  # 9.04 of 10.00 verified
    assert "USD 0.52" in text and "USD 10.52" in text  # 0.525 of markup, half-even to the cent
    assert "Invoice Draft Acme Research 2026-03" in text and "acme" not in text  # the team's name, not its slug

    finalized = invoice_finalize(invoice=draft, by=make_finance_user(), override_reason="close")
    text = _pdf_text(finalized)
    issued = finalized.finalized_at.date()
    assert finalized.number in text and "DRAFT" not in text and "VOID" not in text
    assert f"{issued:%Y-%m-%d}" in text
    due = datetime.combine(issued, datetime.min.time(), tzinfo=UTC).date().toordinal() + 14
    assert f"{datetime.fromordinal(due):%Y-%m-%d}" in text

    voided = invoice_void(invoice=finalized, by=None, reason="Sent to the wrong team")
    assert "VOID" in _pdf_text(voided) and "Sent to the wrong team" in _pdf_text(voided)


def test_hostile_text_is_printed_not_interpreted(world):
    team = world["team"]
    team.bill_to_name = "<b>Evil & Co</b> <font size=90>"
    team.save()
    text = _pdf_text(invoice_draft(team=team, period=PERIOD))
    assert "<b>Evil & Co</b> <font size=90>" in text


def test_the_print_view_says_what_the_pdf_says(finance, world, settings):
    settings.TALLY_INVOICE_ISSUER_NAME = "Tally Billing GmbH"
    invoice = invoice_draft(team=world["team"], period=PERIOD)
    page = finance.get(reverse("admin:billing_invoice_print", args=[invoice.pk])).content.decode()
    pdf = _pdf_text(invoice)
    for same in ("Tally Billing GmbH", "Acme Research Ltd", "Markup (5.25%)", "90.4%", "USD 10.52", "DRAFT"):
        assert same in page and same in pdf, same


def test_finance_signing_in_lands_on_the_dashboard(client, world):
    make_finance_user("desk")
    response = client.post(reverse("login"), {"username": "desk", "password": "finance-pass-123"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert "dashboard" in response.context


def test_a_member_is_still_sent_to_their_spend(client, world):
    client.force_login(make_member(world["team"]))
    assert client.get(reverse("spend:index")).status_code == 200


def test_every_4xx_reaches_exactly_one_handler():
    logging.config.dictConfig(settings.LOGGING)
    logger, handlers = logging.getLogger("django.request"), []
    while logger:
        handlers += [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
        logger = logger.parent if logger.propagate else None
    assert len(handlers) == 1
