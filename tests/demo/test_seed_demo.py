"""seed_demo: the demo's generations, and the simulator serving the gateway side of each."""

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from accounts.models import ApiKey, Gateway, Team
from demo.seed import MODELS
from billing.models import ModelPrice
from billing.price_book import PriceBook
from generations.gateways.base import GatewayGenerationRecord, LookupRequest, NotFound
from generations.gateways.client import GatewayConnection
from lib.exact_json import loads_exact
from generations.models import DailySpend, Generation
from tests.generations.gateway_helpers import lookup_batch_sync

pytestmark = pytest.mark.django_db

# Per team: 2 from a LiteLLM batch, 2 from an OpenRouter Broadcast delivery, 1 from OpenTelemetry.
FROM_SOURCES = 3 * 5


@pytest.fixture
def demo(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # seed_demo runs only in development
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; not what is tested
    call_command("seed_demo", "--generations", "400", "--simulator-port", "8123", stdout=io.StringIO())
    return [loads_exact(line) for line in (tmp_path / "demo" / "simulator.jsonl").read_text().splitlines()]


def test_it_creates_teams_gateways_keys_prices_and_pending_generations(demo):
    assert Team.objects.count() == 3
    assert set(Gateway.objects.values_list("kind", flat=True)) == {"openrouter", "fastrouter", "kushrouter"}
    assert Gateway.objects.filter(kind="openrouter").count() == 2
    assert all(":8123/" in url for url in Gateway.objects.values_list("base_url", flat=True))
    assert ApiKey.objects.filter(is_byok=True, monthly_budget__isnull=False).exists()
    posted = [spec for spec in demo if spec.get("planted") != "unrecorded_spend"]
    assert Generation.objects.count() == len(posted) == 400 + FROM_SOURCES
    assert set(Generation.objects.values_list("state", flat=True)) == {"pending"}
    assert set(Generation.objects.values_list("model", flat=True)) == {model.slug for model in MODELS}


def test_the_catalog_prices_the_demo_and_imports_are_only_the_overrides(demo):
    """The demo's gateways charge DemoModel's rates: the price in force (catalog where nothing
    is imported) must be exactly those on every day the demo has generations."""
    imported = set(ModelPrice.objects.values_list("model", "source").distinct())
    assert imported == {(model.slug, "import") for model in MODELS if model.imported}
    rates = {model.slug: (model.prompt, model.completion, model.cache_read, model.cache_write) for model in MODELS}
    for gateway in Gateway.objects.all():
        book = PriceBook(gateway)
        for model, created_at in Generation.objects.filter(gateway=gateway).values_list("model", "created_at"):
            price = book.price(model, at=created_at)
            assert (model, (price.prompt, price.completion, price.cache_read, price.cache_write)) == (model, rates[model])
            assert price.source.startswith("import" if model in {slug for slug, _ in imported} else "catalog")


def test_the_roll_ups_add_up_to_the_generations(demo):
    assert DailySpend.objects.aggregate(total=Sum("recorded_cost"))["total"] == Generation.objects.aggregate(
        total=Sum("cost")
    )["total"]
    assert DailySpend.objects.aggregate(count=Sum("generations"))["count"] == 400 + FROM_SOURCES


def test_a_realistic_share_of_generations_carries_a_planted_difference(demo):
    planted = Counter(spec["planted"] for spec in demo if "planted" in spec)
    assert 0.03 * len(demo) <= sum(planted.values()) <= 0.12 * len(demo)
    assert all(spec["absent"] for spec in demo if spec.get("planted") == "missing_upstream")


def test_the_simulator_serves_what_the_demo_wrote(demo, gateway_simulator):
    gateway_simulator.add_records(demo)
    for gateway in Gateway.objects.all():
        generations = list(Generation.objects.filter(gateway=gateway).select_related("api_key")[:40])
        connection = GatewayConnection(kind=gateway.kind, base_url=gateway_simulator.base_url(gateway.kind))
        outcomes = lookup_batch_sync(
            connection, [LookupRequest(generation.external_id, generation.api_key.secret()) for generation in generations]
        )
        planted = {spec["id"]: spec.get("planted", "") for spec in demo}
        for generation, outcome in zip(generations, outcomes, strict=True):
            if planted[generation.external_id] == "missing_upstream":
                assert isinstance(outcome, NotFound)
                continue
            assert isinstance(outcome, GatewayGenerationRecord), outcome
            if not planted[generation.external_id]:
                assert outcome.tokens_completion == generation.tokens_completion
                charged = outcome.credits_used if gateway.kind == "fastrouter" else outcome.total_cost
                if gateway.kind == "openrouter" and not generation.is_byok:
                    assert charged == generation.cost
                if gateway.kind == "fastrouter":
                    assert charged == generation.cost
                    assert generation.api_key.fingerprint.startswith(outcome.key_hash)


def test_it_refuses_to_seed_twice_unless_asked_to_skip(demo):
    with pytest.raises(CommandError, match="teams already"):
        call_command("seed_demo", "--generations", "1")
    call_command("seed_demo", "--if-empty", stdout=io.StringIO())
    assert Generation.objects.count() == 400 + FROM_SOURCES
    assert Decimal(0) < Generation.objects.aggregate(total=Sum("cost"))["total"]


def test_one_key_is_past_80_percent_of_its_budget_with_its_alert_raised(demo):
    from billing.alerts.models import Alert

    alert = Alert.objects.get(kind="key_budget", threshold=80)
    key = alert.api_key
    month_spend = DailySpend.objects.filter(api_key=key, day__gte=alert.created_at.date().replace(day=1)).aggregate(
        total=Sum("recorded_cost")
    )["total"]
    assert month_spend / key.monthly_budget >= Decimal("0.8")
    assert set(alert.deliveries.values_list("channel", flat=True)) == {"email"}


def test_some_generations_arrive_through_litellm_broadcast_and_opentelemetry(demo):
    from_sources = Generation.objects.filter(external_id__contains="-src")
    assert from_sources.count() == FROM_SOURCES
    keys = set(from_sources.values_list("api_key__slug", flat=True))
    assert keys == {"acme-openrouter", "globex-openrouter", "initech-openrouter"}
    assert ApiKey.objects.get(slug="acme-openrouter").broadcast_key_name == "acme-production"


def test_a_day_of_unrecorded_spend_is_found_by_a_coverage_check(demo, gateway_simulator, tmp_path):
    from datetime import UTC, datetime, timedelta

    from billing.coverage.services import coverage_check_day
    from billing.models import Discrepancy

    unposted = [spec for spec in demo if spec.get("planted") == "unrecorded_spend"]
    assert len(unposted) == 2 and not Generation.objects.filter(external_id__in=[spec["id"] for spec in unposted]).exists()
    management_keys = (tmp_path / "demo" / "management_keys.txt").read_text().split()
    gateway_simulator.configure(management_keys=management_keys)
    gateway_simulator.add_records(demo)
    gateway = Gateway.objects.get(slug="openrouter")
    assert gateway.management_secret() == management_keys[0]
    Gateway.objects.filter(kind="openrouter").update(base_url=gateway_simulator.base_url("openrouter"))
    gateway.refresh_from_db()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    coverage_check_day(gateway=gateway, day=yesterday)
    finding = Discrepancy.objects.get(api_key__slug="acme-openrouter", day=yesterday, kind="unrecorded_spend", model="openai/gpt-4o")
    assert finding.delta >= Decimal("0.0745")
