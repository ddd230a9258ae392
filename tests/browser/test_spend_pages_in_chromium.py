"""The spend pages in a real browser: Debian's Chromium, driven by Playwright, against a live server.

Every page is saved as a screenshot under var/screenshots/ (desktop and phone width) for people to
look at. All data is created before the browser starts: Playwright's sync API runs an event loop,
and Django refuses database calls from inside one.
"""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Membership
from billing.templatetags.money import money
from tests.billing.spend_data import (
    PASSWORD,
    generation_dispute,
    generations_add,
    month_slug,
    month_start,
    spend_world,
    user_create,
)
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODELS = (
    ("openai/gpt-4o-mini", "0.00042", (1800, 350)),
    ("anthropic/claude-sonnet-4", "0.0214", (5200, 780)),
    ("google/gemini-2.5-flash", "0.0031", (3100, 900)),
)


@pytest.fixture
def spend_month(transactional_db):
    """A team with a month and a half of realistic spend on two keys, a few generations
    disputed, and a member who signs in with a password."""
    world = spend_world()
    member = user_create("mira", password=PASSWORD)
    Membership.objects.create(user=member, team=world.team, role=Membership.Role.ADMIN)
    this_month, last_month = month_start(), month_start(1)
    days_so_far = (timezone.now() - this_month).days + 1
    for start, days in ((last_month, (this_month - last_month).days), (this_month, days_so_far)):
        for day in range(days):
            for index, (model, cost, tokens) in enumerate(MODELS):
                count = 2 + (day * 7 + index * 3) % 5
                verified = start != this_month or day < days_so_far - 2
                generations_add(
                    world.key,
                    created_at=start + timedelta(days=day, hours=8 + index * 3),
                    cost=cost,
                    model=model,
                    tokens=tokens,
                    count=count,
                    state="verified" if verified else "pending",
                    charged=cost if verified else None,
                    spacing=timedelta(minutes=17),
                )
            generations_add(world.second_key, created_at=start + timedelta(days=day, hours=12), cost="0.0009", count=3)
    latest_day = this_month + timedelta(days=days_so_far - 1)
    for hours in (20, 21, 22):
        disputed = generations_add(world.key, created_at=latest_day + timedelta(hours=hours), cost="0.0214")[0]
        generation_dispute(disputed, charged="0.0331")
    return world, member


@pytest.fixture
def chromium_browser(spend_month):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watcher:
    """Collects what a page logs as errors and every address it asks for."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.requests: list[str] = []

    def watch(self, page) -> None:
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def assert_clean(self) -> None:
        assert self.console_errors == []
        outside = [url for url in self.requests if urlparse(url).hostname not in LOCAL_HOSTS]
        assert outside == []
        assert self.requests, "the watcher saw no requests at all"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"spend-{name}.png"), full_page=True)


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/spend/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/spend/")


def test_a_member_signs_in_reads_a_keys_months_and_downloads_its_csv(live_server, chromium_browser, spend_month):
    world, member = spend_month
    watcher = Watcher()
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    watcher.watch(page)

    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "login")
    sign_in(page, live_server.url, member.username)
    assert page.get_by_role("heading", name="Research").is_visible()
    screenshot(page, "index")

    page.get_by_role("link", name=world.key.name).click()
    page.wait_for_url(f"**/spend/keys/{world.key.slug}/?month={month_slug(month_start())}")
    assert page.locator("svg.chart title").first.text_content().startswith("Spend per day")
    assert page.get_by_role("link", name="Cost differs").count() == 3
    screenshot(page, "key")

    page.get_by_role("link", name="Previous month").click()
    page.wait_for_url(f"**?month={month_slug(month_start(1))}")
    assert page.get_by_role("heading", name=month_start(1).strftime("%B %Y")).is_visible()
    shown_amount = page.get_by_test_id("spend-amount").text_content().strip()
    screenshot(page, "key-previous-month")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"tally-{world.key.slug}-{month_slug(month_start(1))}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert rows and {row["state"] for row in rows} == {"verified"}
    assert money(sum((Decimal(row["charged_cost"]) for row in rows), Decimal(0))) == shown_amount

    page.get_by_role("link", name="Next month").click()
    page.wait_for_url(f"**?month={month_slug(month_start())}")
    assert page.get_by_text("No next month").count() == 1

    page.get_by_role("link", name="Cost differs").first.click()
    assert page.get_by_role("heading", name="What was found").is_visible()
    screenshot(page, "generation")

    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    watcher.assert_clean()
    context.close()


def test_the_pages_read_well_on_a_phone_and_work_from_the_keyboard(live_server, chromium_browser, spend_month):
    world, member = spend_month
    watcher = Watcher()
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    watcher.watch(page)

    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "login-phone")
    sign_in(page, live_server.url, member.username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    screenshot(page, "index-phone")

    page.goto(f"{live_server.url}/spend/keys/{world.key.slug}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "key-phone")
    watcher.assert_clean()
    context.close()
