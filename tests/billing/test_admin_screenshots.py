"""Screenshots of the finance admin in real Chromium, saved to var/screenshots/ for review."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from billing.invoicing.drafting import invoice_draft
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.periods import period_of, period_previous
from billing.invoicing.voiding import invoice_void
from billing.models import DiscrepancyKind, Invoice, Severity
from demo.finance import demo_finance_state
from generations.models import GenerationState
from tests.billing.invoice_helpers import (
    make_discrepancy,
    make_finance_user,
    make_gateway,
    make_generation,
    make_key,
    make_team,
)
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _finance_world():
    finance = make_finance_user()
    last_month = period_previous(period_of(datetime.now(UTC).date()))
    two_months_ago = period_previous(last_month)
    kush = make_gateway("kushrouter")
    kush.retention_days = 7
    kush.save()
    models = ["openai/gpt-4o", "anthropic/claude-sonnet-4", "google/gemini-2.5-pro"]
    for team_index, slug in enumerate(["acme", "globex", "initech"]):
        team = make_team(slug, markup="0.05" if slug == "globex" else "0")
        keys = [make_key(team, "prod"), make_key(team, "batch", gateway=kush)]
        for month in (two_months_ago, last_month):
            for index in range(18):
                key, model = keys[index % 2], models[index % 3]
                at = datetime(month.year, month.month, 1 + index, 9, tzinfo=UTC)
                cost = f"{(index + 1) * (team_index + 1) * 0.731:.6f}"
                if index % 6 == 5:
                    generation = make_generation(
                        key,
                        cost=cost,
                        charged=f"{float(cost) * 1.08:.6f}",
                        state=GenerationState.DISPUTED,
                        model=model,
                        at=at,
                    )
                    kind = [
                        DiscrepancyKind.COST_MISMATCH,
                        DiscrepancyKind.BYOK_MISMATCH,
                        DiscrepancyKind.MISSING_UPSTREAM,
                    ][index % 3]
                    make_discrepancy(generation, kind=kind)
                elif index % 7 == 3 and month == last_month:
                    make_generation(key, cost=cost, model=model, at=at)
                else:
                    generation = make_generation(
                        key, cost=cost, charged=cost, state=GenerationState.VERIFIED, model=model, at=at
                    )
                    if index % 8 == 0:
                        make_discrepancy(generation, kind=DiscrepancyKind.MODEL_SUBSTITUTED, severity=Severity.WARNING)
        older = invoice_finalize(
            invoice=invoice_draft(team=team, period=two_months_ago),
            by=finance,
            override_reason="Closed with disputes open",
        )
        if slug == "initech":
            invoice_void(invoice=older, by=finance, reason="Issued to the wrong cost centre")
    make_generation(keys[1], cost="0.42", at=datetime.now(UTC) - timedelta(days=6, hours=2))
    demo_finance_state(by=finance)
    return finance


def test_screenshots_of_the_finance_admin(live_server):
    from playwright.sync_api import sync_playwright

    _finance_world()
    invoice = Invoice.objects.filter(status="draft").order_by("team__name").first()
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "invoice_list": "/admin/billing/invoice/",
        "invoice": f"/admin/billing/invoice/{invoice.pk}/change/",
        "discrepancy_list": "/admin/billing/discrepancy/",
        "overview": "/admin/billing/discrepancy/overview/",
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "finance")
            page.fill("#id_password", "finance-pass-123")
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            for name, path in pages.items():
                response = page.goto(live_server.url + path)
                assert response.status == 200, path
                page.screenshot(path=str(SHOTS / f"admin_{name}.png"), full_page=True)
        finally:
            browser.close()
    assert all((SHOTS / f"admin_{name}.png").stat().st_size > 10_000 for name in pages)
