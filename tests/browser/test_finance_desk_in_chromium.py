"""The finance desk in a real browser: Debian's Chromium, driven by Playwright, against a live server.

Finance signs in on the site's login page, reads the month's dashboard, opens a disputed
generation's case file from the overview, resolves it, finalizes the month's invoice with an
override, voids it, replaces it, and downloads the PDF; a team member filters a key's disputed
generations on a phone. Screenshots go to var/screenshots/finance-*.png for people to look at.

All data is created before the browser starts (Playwright's sync API runs an event loop, and
Django refuses database calls from inside one); what the clicks changed is read back from the
pages, and from the database once the browser is closed.
"""

import io
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from accounts.models import Membership
from billing.invoicing.drafting import invoice_draft
from billing.models import Discrepancy, DiscrepancyStatus, Invoice, InvoiceStatus
from tests.billing.invoice_helpers import finance_group
from tests.billing.spend_data import (
    PASSWORD,
    generation_dispute,
    generations_add,
    month_slug,
    month_start,
    spend_world,
    user_create,
)
from tests.browser.test_spend_pages_in_chromium import CHROMIUM_ARGS, Watcher
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"finance-{name}.png"), full_page=True)


@pytest.fixture
def desk(transactional_db, settings):
    """Last month: verified spend, one disputed generation, one still pending (so the month is
    not settled), a draft invoice; this month: disputes for the member's phone."""
    settings.TALLY_INVOICE_ISSUER_NAME = "Tally Billing GmbH"
    settings.TALLY_INVOICE_ISSUER_ADDRESS = "Hauptstrasse 5\n10115 Berlin"
    world = spend_world()
    world.team.bill_to_name, world.team.bill_to_address = "Research Labs Ltd", "7 Harbour Road\nBristol"
    world.team.save()
    last = month_start(1)
    generations_add(world.key, created_at=last + timedelta(days=2), cost="1.25", state="verified", charged="1.25", count=4)
    disputed = generations_add(world.key, created_at=last + timedelta(days=3), cost="0.40")[0]
    finding = generation_dispute(disputed, charged="0.52")
    generations_add(world.key, created_at=last + timedelta(days=4), cost="0.10", count=1)  # pending
    for hours in (1, 2):
        now_disputed = generations_add(world.key, created_at=month_start() + timedelta(hours=hours), cost="0.02")[0]
        generation_dispute(now_disputed, charged="0.05")
    generations_add(world.key, created_at=month_start() + timedelta(hours=3), cost="0.01", state="verified", charged="0.01")
    invoice = invoice_draft(team=world.team, period=last.date())
    finance = user_create("fiona", password=PASSWORD)
    finance.is_staff = True
    finance.save()
    finance.groups.add(finance_group())
    member = user_create("mo", password=PASSWORD)
    Membership.objects.create(user=member, team=world.team, role=Membership.Role.MEMBER)
    return {"world": world, "finding": finding, "invoice": invoice, "finance": finance, "member": member}


@pytest.fixture
def browser(desk):

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_finance_closes_a_month_from_the_dashboard_to_the_pdf(live_server, browser, desk, monkeypatch):
    world, invoice, finding = desk["world"], desk["invoice"], desk["finding"]
    last_month = month_slug(month_start(1))
    watcher = Watcher()
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    watcher.watch(page)

    sign_in(page, live_server.url, "fiona")
    page.wait_for_url(f"{live_server.url}/admin/")  # not "You are not in a team yet"
    page.get_by_label("Month", exact=True).select_option(last_month)
    page.wait_for_url(f"**/admin/?month={last_month}")
    assert page.get_by_test_id("dash-at-stake").text_content().strip() == "$0.12"
    assert page.get_by_test_id("dash-spend").text_content().strip() == "$5.50"
    # Last month is over: its draft waits to be finalized.
    assert page.get_by_role("link", name=f"{world.team.name}, {month_start(1):%B %Y}").count() == 1
    shot(page, "dashboard")

    page.get_by_role("link", name="Reconciliation overview").click()
    page.wait_for_url(f"**/overview/?month={last_month}")
    shot(page, "overview")
    page.get_by_test_id("open-by-kind").get_by_role("link", name="Cost differs").click()
    page.get_by_role("link", name=finding.generation.external_id).click()
    page.wait_for_url(f"**/discrepancy/{finding.pk}/change/**")
    title = f"Cost differs on {world.gateway.slug} {finding.generation.external_id}"
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    assert page.locator("tr.tally-differs th").all_text_contents() == ["Cost (recorded / charged)"]
    assert page.get_by_role("button", name="Save").count() == 0
    shot(page, "case-file")

    page.get_by_label("Reason (kept in the history)").fill("Gateway price change on the 3rd; accepted")
    page.get_by_role("button", name="Resolve: accept the gateway's figure").click()
    page.wait_for_url(f"**/discrepancy/{finding.pk}/change/")
    assert page.get_by_test_id("case-status").text_content().strip() == "Resolved"
    assert "fiona resolved it: Gateway price change on the 3rd; accepted" in page.get_by_test_id("case-history").text_content()
    shot(page, "case-file-resolved")

    page.goto(f"{live_server.url}/admin/billing/invoice/?period={last_month}")
    assert "USD 5.50" in page.get_by_test_id("invoice-totals").text_content()
    shot(page, "invoices")
    page.get_by_role("link", name=f"Draft {world.team.name} {last_month}").click()
    page.get_by_test_id("invoice-actions").get_by_role("link", name="Finalize").click()
    page.locator("input[type=submit]").click()  # no override: refused, one generation is pending
    assert page.locator(".messagelist .error").count() == 1
    page.get_by_label("Override: finalize even though generations of the period are not settled").check()
    page.get_by_label("Reason").fill("One call still pending at month-end; billed as recorded")
    shot(page, "finalize-override")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**/admin/billing/invoice/{invoice.pk}/change/")
    assert page.locator(".messagelist .success").count() == 1
    number = page.locator(".field-number .readonly").text_content().strip()
    assert number not in ("", "-") and page.locator(".field-status .readonly").text_content().strip() == "Finalized"
    shot(page, "invoice-finalized")

    page.get_by_test_id("invoice-actions").get_by_role("link", name="Void").click()
    page.get_by_label("Reason").fill("Billing address was wrong")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**/admin/billing/invoice/{invoice.pk}/change/")
    page.get_by_role("button", name="Replace with a new draft").click()
    page.wait_for_url(lambda url: f"/invoice/{invoice.pk}/" not in url and url.endswith("/change/"))
    replacement_url = page.url
    shot(page, "invoice-replacement")

    pdf_link = page.get_by_test_id("invoice-actions").get_by_role("link", name="PDF").get_attribute("href")
    pdf = context.request.get(f"{live_server.url}{pdf_link}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.body())).pages)
    for expected in ("Tally Billing GmbH", "10115 Berlin", "Research Labs Ltd", "7 Harbour Road", "DRAFT", "Due date"):
        assert expected in text

    page.goto(f"{live_server.url}/admin/billing/invoice/{invoice.pk}/history/")
    history = page.locator("#change-history").text_content()
    assert "Finalized as" in history and "Voided: Billing address was wrong" in history and "Replaced by" in history
    shot(page, "invoice-history")
    watcher.assert_clean()
    context.close()

    # The browser is closed but Playwright's loop still runs in this thread; nothing else does.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert Discrepancy.objects.get(pk=finding.pk).status == DiscrepancyStatus.RESOLVED
    voided = Invoice.objects.get(pk=invoice.pk)
    assert (voided.status, voided.number, voided.override_reason) == (
        InvoiceStatus.VOID,
        number,
        "One call still pending at month-end; billed as recorded",
    )
    replacement = Invoice.objects.get(pk=int(replacement_url.rstrip("/").split("/")[-2]))
    assert replacement.status == InvoiceStatus.DRAFT and replacement.period == voided.period


def test_a_member_finds_a_keys_disputes_on_a_phone(live_server, browser, desk):
    world = desk["world"]
    watcher = Watcher()
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    watcher.watch(page)
    sign_in(page, live_server.url, "mo")
    page.wait_for_url(f"{live_server.url}/spend/")
    page.goto(f"{live_server.url}/spend/keys/{world.key.slug}/")
    nav = page.locator(".month-nav")
    previous, current = nav.locator("[rel=prev]").bounding_box(), nav.locator(".month-nav__current").bounding_box()
    assert previous["x"] + previous["width"] <= current["x"]  # the month names do not overlap
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    badge = page.get_by_test_id("open-discrepancies")
    assert badge.text_content().startswith("2 open discrepancies")  # this month's, not last month's third
    shot(page, "key-phone")

    badge.click()
    page.wait_for_url("**state=disputed*")
    rows = page.locator("#recent-heading").locator("xpath=ancestor::section").locator("tbody tr")
    assert rows.count() == 2
    assert page.get_by_test_id("state-disputed").get_attribute("aria-current") == "true"
    shot(page, "key-phone-disputed")
    page.get_by_test_id("state-pending").click()
    page.wait_for_url("**state=pending*")
    expect(page.get_by_text("No pending generations")).to_be_visible()
    watcher.assert_clean()
    context.close()
