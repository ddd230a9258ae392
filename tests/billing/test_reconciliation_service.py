"""Applying lookups: records stored, rules run, discrepancies and states written once; retries,
pauses and re-checks. Real HTTP to the gateway simulator on loopback."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from billing.reconciliation.services import GONE_NOTE, generations_reconcile
from generations.fetching import generations_claim_due
from generations.models import GatewayRecord, Generation
from generations.rollups import SpendFacts, rollup_generations_changed
from tests.billing.reconciliation_world import (
    plan_generations,
    rollups_match_generations,
    generations_store,
    world_create,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(gateway_simulator):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    return world_create(simulator_url=gateway_simulator.url, grace_seconds=60)


def reconcile_due(now=None) -> dict:
    done = {}
    for claim in generations_claim_due(now=now):
        for outcome, count in generations_reconcile(claim=claim).items():
            done[outcome] = done.get(outcome, 0) + count
    return done


def clean_plans(world, *, key_name: str, count: int, seed: int):
    plans = plan_generations(world, count=60, plant_share=0, seed=seed, now=timezone.now(), scripts=False)
    return [plan for plan in plans if plan.key_name == key_name][:count]


def kinds_of(generation: Generation) -> set[str]:
    return set(generation.discrepancies.values_list("kind", flat=True))


def test_it_finds_every_planted_difference_and_nothing_else(world, gateway_simulator):
    planned = plan_generations(world, count=40, plant_share=0.3, seed=7, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)

    reconcile_due()

    by_id = {generation.external_id: generation for generation in Generation.objects.all()}
    for plan in planned:
        generation = by_id[plan.external_id]
        assert (plan.planted, generation.state) == (plan.planted, plan.expected_state)
        assert (plan.planted, kinds_of(generation)) == (plan.planted, plan.expected_kinds)
    verified = Generation.objects.filter(state="verified")
    assert verified.exists()
    assert not verified.filter(charged_cost__isnull=True).exists()
    assert GatewayRecord.objects.count() == sum(1 for plan in planned if plan.expected_state not in ("missing", "expired"))
    assert rollups_match_generations() == []
    filed = Discrepancy.objects.filter(generation__isnull=False).select_related("generation")
    assert filed.exists()
    assert [(d.pk, d.generation_created_at) for d in filed] == [(d.pk, d.generation.created_at) for d in filed]


def test_it_stores_the_gateway_record_with_its_raw_body_exactly(world, gateway_simulator):
    planned = clean_plans(world, key_name="openrouter", count=1, seed=1)
    exact = planned[0].cost + Decimal("0.00000000000000000001")  # 20 places, beyond what we store
    planned[0].spec["body"].update(total_cost=exact, usage=exact)
    gateway_simulator.add_records([planned[0].spec])
    [generation] = generations_store(world, planned)

    reconcile_due()

    record = GatewayRecord.objects.get(generation=generation)
    assert f'"total_cost":{exact}' in record.raw.replace(" ", "")
    assert record.total_cost == planned[0].cost
    generation.refresh_from_db()
    assert (generation.state, generation.charged_cost, generation.attempts) == ("verified", planned[0].cost, 1)


def test_it_changes_nothing_when_a_batch_runs_twice(world, gateway_simulator):
    planned = plan_generations(world, count=25, plant_share=0.5, seed=3, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    claims = generations_claim_due()

    for claim in claims:
        generations_reconcile(claim=claim)
    snapshot = (
        list(Generation.objects.order_by("pk").values_list("state", "charged_cost", "attempts", "next_attempt_at")),
        list(Discrepancy.objects.order_by("pk").values_list("kind", "status", "expected", "actual")),
        DiscrepancyEvent.objects.count(),
        GatewayRecord.objects.count(),
    )
    again = [generations_reconcile(claim=claim) for claim in claims]

    assert all(not done for done in again)  # none of the claim's generations is still its own
    assert snapshot == (
        list(Generation.objects.order_by("pk").values_list("state", "charged_cost", "attempts", "next_attempt_at")),
        list(Discrepancy.objects.order_by("pk").values_list("kind", "status", "expected", "actual")),
        DiscrepancyEvent.objects.count(),
        GatewayRecord.objects.count(),
    )
    assert rollups_match_generations() == []


def test_it_retries_a_404_inside_the_grace_window_then_verifies(world, gateway_simulator):
    planned = clean_plans(world, key_name="fastrouter", count=1, seed=2)
    planned[0].spec["script"] = ["404", "ok"]
    gateway_simulator.add_records([planned[0].spec])
    [generation] = generations_store(world, planned)

    assert reconcile_due() == {"retried": 1}
    generation.refresh_from_db()
    grace_end = generation.created_at + timedelta(seconds=60)
    assert generation.state == "pending"
    assert generation.attempts == 1
    assert generation.next_attempt_at <= grace_end + timedelta(seconds=1)

    assert reconcile_due(now=generation.next_attempt_at) == {"verified": 1}
    generation.refresh_from_db()
    assert (generation.state, generation.attempts) == ("verified", 2)


def test_it_honours_retry_after_on_a_429(world, gateway_simulator):
    planned = clean_plans(world, key_name="kushrouter", count=1, seed=4)
    planned[0].spec["script"] = ["429:90"]
    gateway_simulator.add_records([planned[0].spec])
    [generation] = generations_store(world, planned)
    before = timezone.now()

    assert reconcile_due() == {"retried": 1}
    generation.refresh_from_db()
    assert generation.next_attempt_at >= before + timedelta(seconds=90)


def test_it_declares_missing_after_grace_and_expired_after_retention(world, gateway_simulator):
    planned = plan_generations(world, count=20, plant_share=0.1, seed=5, now=timezone.now(), scripts=False)
    missing = next(plan for plan in planned if plan.planted == "missing_upstream")
    expired = next(plan for plan in planned if plan.planted == "expired_unverified")
    generations_store(world, [missing, expired])

    reconcile_due()

    states = dict(Generation.objects.values_list("external_id", "state"))
    assert states == {missing.external_id: "missing", expired.external_id: "expired"}
    assert set(Discrepancy.objects.values_list("kind", "severity")) == {
        ("missing_upstream", "error"),
        ("expired_unverified", "error"),
    }
    assert rollups_match_generations() == []


def test_it_pauses_the_gateway_on_a_402_without_burning_attempts(world, gateway_simulator):
    planned = clean_plans(world, key_name="openrouter-byok", count=3, seed=6)
    gateway_simulator.add_records([plan.spec for plan in planned])
    gateway_simulator.configure(payment_required=["openrouter"])
    generations_store(world, planned)

    assert reconcile_due() == {"released": 3}
    gateway = world.gateways["openrouter"]
    gateway.refresh_from_db()
    assert gateway.paused_at is not None
    assert "402" in gateway.pause_reason
    assert list(Generation.objects.values_list("state", "attempts").distinct()) == [("pending", 0)]
    # Paused: the sweep leaves its generations alone until an operator clears the pause.
    assert generations_claim_due(now=timezone.now() + timedelta(minutes=5)) == []

    gateway_simulator.configure(payment_required=False)
    gateway.paused_at = None
    gateway.save(update_fields=["paused_at"])
    assert reconcile_due() == {"verified": 3}


def test_it_pauses_a_key_the_gateway_refuses(world, gateway_simulator):
    planned = clean_plans(world, key_name="kushrouter", count=2, seed=8)
    for plan in planned:
        plan.spec["key"] = "a-key-the-simulator-knows"  # ours is not one of them: 401
    gateway_simulator.add_records([plan.spec for plan in planned])
    generations_store(world, planned)

    assert reconcile_due() == {"released": 2}
    key = world.keys["kushrouter"]
    key.refresh_from_db()
    assert key.paused_at is not None
    world.gateways["kushrouter"].refresh_from_db()
    assert world.gateways["kushrouter"].paused_at is None
    assert generations_claim_due(now=timezone.now() + timedelta(minutes=5)) == []


def test_it_resolves_findings_that_disappear_on_a_recheck(world, gateway_simulator):
    planned = clean_plans(world, key_name="fastrouter", count=1, seed=9)
    plan = planned[0]
    right = dict(plan.spec["body"])
    plan.spec["body"].update(credits_used=plan.cost * 2)
    gateway_simulator.add_records([plan.spec])
    [generation] = generations_store(world, planned)
    reconcile_due()
    generation.refresh_from_db()
    assert generation.state == "disputed"
    assert kinds_of(generation) == {"cost_mismatch", "price_mismatch"}

    # The gateway corrects its record; someone asks for a re-check.
    gateway_simulator.reset(records=True)
    gateway_simulator.add_records([{**plan.spec, "body": right}])
    before = SpendFacts.of(generation)
    Generation.objects.filter(pk=generation.pk).update(state="pending", next_attempt_at=timezone.now())
    generation.refresh_from_db()
    rollup_generations_changed([(before, SpendFacts.of(generation))])
    reconcile_due()

    generation.refresh_from_db()
    assert generation.state == "verified"
    assert generation.charged_cost == plan.cost
    kept = Discrepancy.objects.filter(generation=generation)
    assert sorted(kept.values_list("kind", "status")) == [
        ("cost_mismatch", DiscrepancyStatus.RESOLVED),
        ("price_mismatch", DiscrepancyStatus.RESOLVED),
    ]
    assert set(DiscrepancyEvent.objects.filter(to_status="resolved").values_list("note", flat=True)) == {GONE_NOTE}
    assert rollups_match_generations() == []
