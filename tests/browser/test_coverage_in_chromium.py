"""A key's coverage in a real browser: the marked day in the chart and the day-by-day strip.

The world (a checked day with unrecorded spend) is made before the browser starts: Playwright's
sync API runs an event loop, and Django refuses database calls from inside one. A screenshot
is saved under var/screenshots/.
"""

import pytest

from accounts.models import Membership
from billing.coverage.services import coverage_check_day
from tests.billing.coverage_world import coverage_world_served
from tests.billing.spend_data import PASSWORD, user_create
from tests.browser.test_spend_pages_in_chromium import CHROMIUM_ARGS, Watcher, screenshot, sign_in
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checked_world(transactional_db, gateway_simulator):
    world = coverage_world_served(gateway_simulator)
    coverage_check_day(gateway=world.gateway, day=world.day)
    member = user_create("mira", password=PASSWORD)
    Membership.objects.create(user=member, team=world.team, role=Membership.Role.MEMBER)
    return world, member


def test_the_key_page_marks_the_day_the_gateway_billed_more(live_server, checked_world):
    from playwright.sync_api import sync_playwright

    world, member = checked_world
    watcher = Watcher()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        watcher.watch(page)
        sign_in(page, live_server.url, member.username)
        page.goto(f"{live_server.url}/spend/keys/{world.leaky.slug}/?month={world.day:%Y-%m}")
        flag = page.locator('svg.chart [data-flag="coverage"]')
        assert flag.count() == 1 and flag.is_visible()
        day = page.locator(f'.coverage-day[data-day="{world.day:%Y-%m-%d}"]')
        assert day.get_attribute("data-status") == "differed"
        assert "Checked, differed" in day.get_attribute("title")
        assert page.get_by_test_id("coverage-differed").is_visible()
        assert page.get_by_test_id("spend-unrecorded").inner_text().startswith("$0.03")
        screenshot(page, "key-coverage")
        browser.close()
    watcher.assert_clean()
