"""Writing a batch's outcomes at once: a few statements whatever the batch's size, one generation
the database refuses does not sink the others, and racing batches change each generation once.
Real HTTP to the gateway simulator on loopback."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Discrepancy, DiscrepancyEvent
from billing.reconciliation.services import PriceBook, generations_reconcile
from generations.fetching import generations_claim_due, generations_of_claim, lookup_requests_for, lookups_run
from generations.models import GatewayRecord, Generation
from tests.billing.reconciliation_world import (
    generations_store,
    outcome_apply,
    plan_generations,
    rollups_match_generations,
    world_create,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Gateway, generations with their keys, prices, then in one transaction: the row locks, gateway
# records, discrepancies read, discrepancies and their events created, generations, roll-ups, and
# the transaction's own statements. Reconciling one generation at a time took about 7 each.
QUERIES_PER_BATCH = 16


@pytest.fixture
def world(gateway_simulator):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    return world_create(simulator_url=gateway_simulator.url, grace_seconds=60)


def planted(world, gateway_simulator, *, count: int, seed: int):
    planned = plan_generations(world, count=count, plant_share=0.3, seed=seed, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    return planned


def queries_of_each_batch(claims) -> list[int]:
    counts = []
    for claim in claims:
        with CaptureQueriesContext(connection) as queries:
            generations_reconcile(claim=claim)
        counts.append(len(queries))
    return counts


@pytest.mark.parametrize("size", [3, 200])
def test_it_writes_a_batch_in_a_few_statements_whatever_its_size(world, gateway_simulator, size):
    planned = planted(world, gateway_simulator, count=90, seed=11)
    claims = generations_claim_due(size=size)
    assert sum(len(claim.generation_ids) for claim in claims) == len(planned)

    counts = queries_of_each_batch(claims)

    assert max(counts) <= QUERIES_PER_BATCH, counts
    assert not Generation.objects.filter(state="pending").exists()
    assert rollups_match_generations() == []


@pytest.mark.postgres  # SQLite stores any number in a decimal column
def test_it_applies_the_rest_of_a_batch_when_the_database_refuses_one_generation(world, gateway_simulator):
    planned = plan_generations(world, count=60, plant_share=0, seed=14, now=timezone.now(), scripts=False)
    fastrouter = [plan for plan in planned if plan.key_name == "fastrouter"][:5]
    absurd = fastrouter[0]
    # More digits than a money column holds: the database refuses the charged cost.
    absurd.spec["body"].update(credits_used=Decimal("1" + "0" * 30))
    gateway_simulator.add_records([plan.spec for plan in fastrouter])
    generations_store(world, fastrouter)

    [claim] = generations_claim_due()
    done = generations_reconcile(claim=claim)

    assert done == {"verified": 4, "retried": 1}
    states = dict(Generation.objects.values_list("external_id", "state"))
    assert states.pop(absurd.external_id) == "pending"
    assert set(states.values()) == {"verified"}
    refused = Generation.objects.get(external_id=absurd.external_id)
    assert refused.attempts == 1
    assert not GatewayRecord.objects.filter(generation=refused).exists()
    assert rollups_match_generations() == []


@pytest.mark.postgres
def test_racing_batches_on_the_same_claim_change_each_generation_once(world, gateway_simulator):
    planted(world, gateway_simulator, count=40, seed=15)
    attempts_before = dict(Generation.objects.values_list("pk", "attempts"))
    claims = generations_claim_due(size=200)
    results: list = []
    errors: list = []
    barrier = threading.Barrier(2)

    def run_claims() -> None:
        barrier.wait()
        try:
            results.append([generations_reconcile(claim=claim) for claim in claims])
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_claims) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    applied = sum(count for run in results for done in run for outcome, count in done.items() if outcome != "skipped")
    assert applied == 40
    attempts_after = dict(Generation.objects.values_list("pk", "attempts"))
    assert attempts_after == {pk: attempts + 1 for pk, attempts in attempts_before.items()}
    assert DiscrepancyEvent.objects.count() == Discrepancy.objects.count()
    assert rollups_match_generations() == []


def test_one_outcome_is_applied_as_a_batch_of_one_and_only_once(world, gateway_simulator):
    planned = [plan for plan in planted(world, gateway_simulator, count=12, seed=16) if plan.key_name == "fastrouter"]
    [claim] = [claim for claim in generations_claim_due() if claim.gateway_id == world.gateways["fastrouter"].pk]
    gateway = world.gateways["fastrouter"]
    generation = generations_of_claim(claim=claim, gateway=gateway)[0]
    [outcome] = lookups_run(gateway=gateway, requests=lookup_requests_for(gateway=gateway, generations=[generation]))
    expected = next(plan.expected_state for plan in planned if plan.external_id == generation.external_id)

    first, again = (
        outcome_apply(
            generation=generation, outcome=outcome, leased_until=claim.leased_until, prices=PriceBook(gateway)
        )
        for _ in range(2)
    )

    assert (first, again) == (expected, "skipped")
    generation.refresh_from_db()
    assert (generation.state, generation.attempts) == (expected, 1)
    assert GatewayRecord.objects.filter(generation=generation).count() == 1
    assert rollups_match_generations() == []
