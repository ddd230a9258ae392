"""sync_prices and the daily job: the gateways' own model lists, read over real HTTP from the
simulator, stored as dated gateway-list prices, once per change."""

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from accounts.models import Gateway
from billing.models import ModelPrice, PriceSource
from billing.price_lists import gateway_prices_sync
from billing.tasks.prices import sync_gateway_prices
from demo.simulator.model_list import DEFAULT_MODELS

pytestmark = pytest.mark.django_db

LISTED = len(DEFAULT_MODELS) - 1  # openrouter/auto's "-1" is route-dependent: skipped


@pytest.fixture
def openrouter(gateway_simulator):
    httpx.post(f"{gateway_simulator.url}/_sim/models", json=DEFAULT_MODELS).raise_for_status()
    yield Gateway.objects.create(
        slug="openrouter", name="OpenRouter", kind="openrouter", base_url=gateway_simulator.base_url("openrouter")
    )
    httpx.post(f"{gateway_simulator.url}/_sim/models", json=DEFAULT_MODELS).raise_for_status()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("sync_prices", *args, stdout=out)
    return out.getvalue()


def test_it_stores_the_gateways_list_as_its_prices_from_today(openrouter):
    output = run()

    assert f"openrouter: {LISTED} prices changed, 0 unchanged, 1 models skipped." in output
    assert "skipped 'openrouter/auto'" in output
    sonnet = ModelPrice.objects.get(model="anthropic/claude-sonnet-4")
    assert (sonnet.source, sonnet.valid_from, sonnet.fetched_at is not None) == (
        PriceSource.GATEWAY_LIST, datetime.now(timezone.utc).date(), True
    )
    assert (sonnet.prompt, sonnet.cache_read, sonnet.cache_write, sonnet.applies_below_prompt_tokens) == (
        Decimal("3"), Decimal("0.3"), Decimal("3.75"), 200_000
    )


def test_reading_the_same_list_again_changes_nothing(openrouter):
    run("--gateway", "openrouter")
    output = run("--gateway", "openrouter")
    assert f"0 prices changed, {LISTED} unchanged" in output
    assert ModelPrice.objects.count() == LISTED


def test_a_price_that_changed_is_stored_from_the_day_it_was_read(openrouter, gateway_simulator):
    first_day = datetime(2026, 11, 1, 4, 15, tzinfo=timezone.utc)
    gateway_prices_sync(gateway=openrouter, now=first_day)
    changed = [dict(model, pricing={**model["pricing"], "prompt": "0.0000002"}) if model["id"] == "openai/gpt-4o-mini"
               else model for model in DEFAULT_MODELS]
    httpx.post(f"{gateway_simulator.url}/_sim/models", json=changed).raise_for_status()

    result = gateway_prices_sync(gateway=openrouter, now=first_day + timedelta(days=15))

    assert (result.changed, result.unchanged) == (1, LISTED - 1)
    history = list(ModelPrice.objects.filter(model="openai/gpt-4o-mini").order_by("valid_from").values_list("valid_from", "prompt"))
    assert history == [(first_day.date(), Decimal("0.15")), ((first_day + timedelta(days=15)).date(), Decimal("0.2"))]


def test_an_import_for_the_same_model_is_left_alone(openrouter):
    ModelPrice.objects.create(gateway=openrouter, model="openai/gpt-4o-mini", prompt=Decimal("9"), completion=Decimal("9"),
                              valid_from=datetime.now(timezone.utc).date())
    run()
    assert ModelPrice.objects.get(model="openai/gpt-4o-mini", source=PriceSource.IMPORT).prompt == Decimal("9")
    assert ModelPrice.objects.filter(model="openai/gpt-4o-mini", source=PriceSource.GATEWAY_LIST).exists()


def test_an_unknown_gateway_or_one_without_a_list_is_refused(openrouter, gateway_simulator):
    Gateway.objects.create(slug="kushrouter", name="K", kind="kushrouter", base_url=gateway_simulator.base_url("kushrouter"))
    with pytest.raises(CommandError, match="Unknown gateway 'nope'"):
        run("--gateway", "nope")
    with pytest.raises(CommandError, match="publishes no price list"):
        run("--gateway", "kushrouter")
    assert not ModelPrice.objects.exists()


def test_a_gateway_that_cannot_be_read_fails_the_command_and_the_others_still_sync(openrouter):
    Gateway.objects.create(slug="down", name="Down", kind="openrouter", base_url="http://127.0.0.1:9")
    with pytest.raises(CommandError, match="could not read down's model list"):
        run()
    assert ModelPrice.objects.filter(gateway=openrouter).count() == LISTED
    assert not ModelPrice.objects.exclude(gateway=openrouter).exists()


def test_the_daily_job_is_scheduled_and_syncs(openrouter):
    task = PeriodicTask.objects.select_related("crontab").get(task="billing.tasks.prices.sync_gateway_prices")
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("15", "4", "*")
    assert sync_gateway_prices() == LISTED
