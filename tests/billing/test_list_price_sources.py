"""Generations priced with no import at all (the genai-prices catalog), an import beating the
catalog, and a model no source knows; reconciled over real HTTP against the gateway simulator,
with the price's source in the finding and in the admin."""

import html
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, Gateway, Team
from billing.models import ModelPrice, PriceSource
from billing.prices import prices_import
from billing.reconciliation.services import generations_reconcile
from generations.fetching import generations_claim_due
from generations.models import Generation
from generations.rollups import rollup_generations_added
from demo.simulator.records import sample_body
from tests.billing.invoice_helpers import make_finance_user

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "anthropic/claude-sonnet-4"  # genai-prices: anthropic claude-sonnet-4-0, $3 / $15, reads $0.30, writes $3.75
UNCACHED_PROMPT, CACHE_READS, CACHE_WRITES, COMPLETION = 12_000, 30_000, 5_000, 800
# By hand, USD: 12,000 x 3/M = 0.036; 30,000 x 0.30/M = 0.009; 5,000 x 3.75/M = 0.01875;
# 800 x 15/M = 0.012. List cost 0.07575; less KushRouter's 30%: 0.07575 x 0.7 = 0.053025.
KUSHROUTER_CHARGE = Decimal("0.053025")


@pytest.fixture
def setup(gateway_simulator):
    team = Team.objects.create(name="Pricing", slug="pricing")
    gateways, keys = {}, {}
    for kind, discount in (("kushrouter", Decimal("0.30")), ("openrouter", Decimal(0))):
        gateways[kind] = Gateway.objects.create(
            slug=kind, name=kind, kind=kind, base_url=gateway_simulator.base_url(kind), discount=discount
        )
        key = ApiKey(team=team, gateway=gateways[kind], slug=f"{kind}-key", name=kind)
        key.set_secret(f"sk-{kind}-secret")
        key.save()
        keys[kind] = key
    return team, gateways, keys


def _generation(gateway_simulator, key, *, external_id, model, cost, prompt, cached=0, cache_write=0, completion,
                body_cost=None, cache_discount=None):
    created_at = timezone.now() - timedelta(minutes=5)
    body = sample_body(
        key.gateway.kind, generation_id=external_id, model=model, provider="Anthropic", created_at=created_at,
        tokens_prompt=prompt, tokens_completion=completion, tokens_cached=cached, tokens_cache_write=cache_write,
        cost=body_cost if body_cost is not None else cost, cache_discount=cache_discount,
        upstream_inference_cost=body_cost if body_cost is not None else cost,
    )
    gateway_simulator.add_records([{"protocol": key.gateway.kind, "id": external_id, "body": body}])
    generation = Generation.objects.create(
        gateway=key.gateway, external_id=external_id, api_key=key, team=key.team, model=model, created_at=created_at,
        tokens_prompt=prompt, tokens_completion=completion, tokens_cached=cached, cost=cost,
        next_attempt_at=timezone.now(),
    )
    rollup_generations_added([generation])
    return generation


def _reconcile() -> None:
    for claim in generations_claim_due():
        generations_reconcile(claim=claim)


def _kushrouter_generation(gateway_simulator, keys, *, external_id="msg-01", model=MODEL, cost=KUSHROUTER_CHARGE):
    return _generation(
        gateway_simulator, keys["kushrouter"], external_id=external_id, model=model, cost=cost,
        prompt=UNCACHED_PROMPT, cached=CACHE_READS, cache_write=CACHE_WRITES, completion=COMPLETION,
    )


def test_a_kushrouter_catalog_model_with_cache_reads_and_writes_is_verified_with_no_imported_price(
    setup, gateway_simulator
):
    assert not ModelPrice.objects.exists()
    generation = _kushrouter_generation(gateway_simulator, setup[2])

    _reconcile()

    generation.refresh_from_db()
    assert generation.state == "verified"
    assert list(generation.discrepancies.all()) == []
    assert generation.charged_cost == KUSHROUTER_CHARGE
    assert generation.charged_cost.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) == Decimal("0.05")


def test_a_kushrouter_charge_that_differs_names_the_catalog_as_the_price_source(setup, gateway_simulator):
    generation = _kushrouter_generation(gateway_simulator, setup[2], cost=Decimal("0.06"))

    _reconcile()

    finding = generation.discrepancies.get(kind="cost_mismatch")
    assert finding.actual == KUSHROUTER_CHARGE
    assert "catalog (genai-prices " in finding.detail
    assert "anthropic/claude-sonnet-4-0" in finding.detail
    assert "less 30%)" in finding.detail


def test_an_openrouter_call_with_cache_reads_and_writes_matches_the_catalog_price(setup, gateway_simulator):
    # OpenRouter's prompt count includes the cached tokens; its cache discount gives back what the
    # reads saved and takes what the writes cost extra, at list price:
    # 30,000 x (3 - 0.30)/M - 5,000 x (3.75 - 3)/M = 0.081 - 0.00375 = 0.07725.
    # Charged: 47,000 x 3/M + 800 x 15/M - 0.07725 = 0.141 + 0.012 - 0.07725 = 0.07575, as on KushRouter.
    prompt = UNCACHED_PROMPT + CACHE_READS + CACHE_WRITES
    generation = _generation(
        gateway_simulator, setup[2]["openrouter"], external_id="gen-01", model=MODEL, cost=Decimal("0.07575"),
        prompt=prompt, cached=CACHE_READS, completion=COMPLETION, cache_discount=Decimal("0.07725"),
    )
    wrong = _generation(
        gateway_simulator, setup[2]["openrouter"], external_id="gen-02", model=MODEL, cost=Decimal("0.09"),
        prompt=prompt, cached=CACHE_READS, completion=COMPLETION, cache_discount=Decimal("0.06"),
    )

    _reconcile()

    generation.refresh_from_db()
    assert (generation.state, list(generation.discrepancies.values_list("kind", flat=True))) == ("verified", [])
    finding = wrong.discrepancies.get(kind="price_mismatch")
    assert finding.expected == Decimal("0.093")  # 0.153 at list price less the 0.06 it reports as cache discount
    assert "(price from catalog (genai-prices " in finding.detail


def test_an_imported_price_beats_the_catalog_and_the_admin_shows_its_source(setup, gateway_simulator, client):
    team, gateways, keys = setup
    prices_import(lines=[
        "gateway,model,prompt,completion,cache_read,cache_write,valid_from\n",
        f"kushrouter,{MODEL},2,10,0.2,2.5,2020-01-01\n",
    ])
    # At the imported rates: 12,000 x 2 + 30,000 x 0.2 + 5,000 x 2.5 + 800 x 10 = 50,500 per million
    # = 0.0505; less 30%: 0.03535.
    generation = _kushrouter_generation(gateway_simulator, keys, cost=Decimal("0.03535"))
    other = _kushrouter_generation(gateway_simulator, keys, external_id="msg-02", model="openai/gpt-4o-mini",
                                   cost=Decimal("1"))

    _reconcile()

    generation.refresh_from_db()
    assert (generation.state, generation.charged_cost) == ("verified", Decimal("0.03535"))
    assert "catalog" in other.discrepancies.get(kind="cost_mismatch").detail
    client.force_login(make_finance_user())
    overview = html.unescape(client.get(reverse("admin:billing_reconciliation_overview")).content.decode())
    rows = overview.split('id="prices-in-force"')[1].split("</table>")[0].split("<tr")
    row_of = {model: next(row for row in rows if f"<td>{model}</td>" in row) for model in (MODEL, "openai/gpt-4o-mini")}
    assert "import (from 2020-01-01)" in row_of[MODEL] and "catalog" not in row_of[MODEL]
    assert "catalog (genai-prices" in row_of["openai/gpt-4o-mini"]
    prices_page = client.get(reverse("admin:billing_modelprice_changelist")).content.decode()
    assert ModelPrice.objects.get().source == PriceSource.IMPORT
    assert 'class="field-price_source">import (from 2020-01-01)</td>' in prices_page


def test_a_model_no_source_knows_is_a_clear_cost_mismatch_and_listed_as_missing_a_price(
    setup, gateway_simulator, client
):
    generation = _kushrouter_generation(gateway_simulator, setup[2], model="acme/house-model-7")

    _reconcile()

    generation.refresh_from_db()
    finding = generation.discrepancies.get(kind="cost_mismatch")
    assert generation.state == "disputed"
    assert "No list price in force for acme/house-model-7" in finding.detail
    client.force_login(make_finance_user())
    overview = html.unescape(client.get(reverse("admin:billing_reconciliation_overview")).content.decode())
    table = overview.split('id="prices-in-force"')[1].split("</table>")[0]
    missing_row = next(row for row in table.split("<tr") if "acme/house-model-7" in row)
    assert "no list price in force" in missing_row
    assert "1 model with no list price" in overview
