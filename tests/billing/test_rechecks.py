"""Missing is never final by accident, and an unreadable answer is never retried forever:
slow re-checks over real HTTP to the simulator, findings that close themselves with history,
keys that learn their FastRouter hash."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiKey
from billing.models import Discrepancy, DiscrepancyEvent, DiscrepancyStatus
from billing.reconciliation.services import GONE_NOTE, generations_reconcile
from generations.fetching import generations_claim_due
from generations.models import Generation
from generations.services import generations_requeue_rechecks
from tests.billing.reconciliation_world import generations_store, plan_generations, rollups_match_generations, world_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(gateway_simulator):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    return world_create(simulator_url=gateway_simulator.url, grace_seconds=60)


def reconcile_due() -> None:
    for claim in generations_claim_due():
        generations_reconcile(claim=claim)


def one_plan(world, *, key_name: str, planted: str = "", seed: int = 3):
    plans = plan_generations(world, count=80, plant_share=1.0 if planted else 0, seed=seed, now=timezone.now(),
                             scripts=False)  # fmt: skip
    return next(plan for plan in plans if plan.key_name == key_name and plan.planted == planted)


def make_recheck_due(generation: Generation) -> None:
    """As if its slow re-check time had come (time moves on in the test)."""
    Generation.objects.filter(pk=generation.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_missing_generation_is_rechecked_and_its_finding_closes_when_the_record_appears(world, gateway_simulator):
    plan = one_plan(world, key_name="openrouter", planted="missing_upstream")
    [generation] = generations_store(world, [plan])
    reconcile_due()
    generation.refresh_from_db()
    assert generation.state == "missing" and generation.next_attempt_at > timezone.now() + timedelta(minutes=50)
    assert generations_requeue_rechecks() == 0  # not due yet

    # The gateway's record shows up late (it was there all along, or it was delayed).
    clean = one_plan(world, key_name="openrouter", seed=5)
    body = dict(clean.spec["body"], id=plan.external_id, total_cost=plan.cost, usage=plan.cost,
                upstream_inference_cost=plan.cost, native_tokens_prompt=plan.tokens_prompt,
                native_tokens_completion=plan.tokens_completion, native_tokens_cached=0, native_tokens_reasoning=0,
                tokens_prompt=plan.tokens_prompt, tokens_completion=plan.tokens_completion)  # fmt: skip
    gateway_simulator.add_records([{**clean.spec, "id": plan.external_id, "body": body}])
    make_recheck_due(generation)
    assert generations_requeue_rechecks() == 1
    reconcile_due()

    generation.refresh_from_db()
    finding = Discrepancy.objects.get(generation=generation, kind="missing_upstream")
    assert generation.state == "verified" and generation.next_attempt_at is None
    assert finding.status == DiscrepancyStatus.RESOLVED
    assert list(DiscrepancyEvent.objects.filter(discrepancy=finding).values_list("to_status", "note")) == [
        ("open", "Found by reconciliation."),
        ("resolved", GONE_NOTE),
    ]
    assert rollups_match_generations() == []


def test_a_recheck_that_finds_nothing_keeps_it_missing_and_schedules_the_next(world, gateway_simulator):
    plan = one_plan(world, key_name="fastrouter", planted="missing_upstream")
    [generation] = generations_store(world, [plan])
    reconcile_due()
    make_recheck_due(generation)
    generations_requeue_rechecks()
    reconcile_due()

    generation.refresh_from_db()
    assert generation.state == "missing" and generation.next_attempt_at > timezone.now()
    assert Discrepancy.objects.filter(generation=generation).count() == 1
    assert rollups_match_generations() == []


def test_reconcile_until_done_is_not_held_by_slow_rechecks(world, gateway_simulator):
    plan = one_plan(world, key_name="openrouter", planted="missing_upstream")
    generations_store(world, [plan])
    output = StringIO()

    call_command("reconcile", "--until-done", "--timeout", "30", stdout=output)

    assert Generation.objects.get(external_id=plan.external_id).state == "missing"
    assert not Generation.objects.pending().exists()


def test_an_unreadable_answer_becomes_a_finding_with_its_body_and_closes_once_readable(world, gateway_simulator, settings):
    settings.TALLY_RECONCILE_MAX_UNREADABLE_ATTEMPTS = 2
    plan = one_plan(world, key_name="openrouter", seed=11)
    gateway_simulator.add_records([{**plan.spec, "raw_body": "<html>502 Bad Gateway</html>"}])
    [generation] = generations_store(world, [plan])
    reconcile_due()
    make_recheck_due(generation)  # the backoff retry, due at once
    Generation.objects.filter(pk=generation.pk).update(next_attempt_at=timezone.now())
    reconcile_due()

    generation.refresh_from_db()
    assert (generation.state, generation.attempts) == ("disputed", 2)
    assert generation.gateway_record.raw == "<html>502 Bad Gateway</html>"
    assert Discrepancy.objects.get(generation=generation).kind == "unreadable_record"

    gateway_simulator.reset(records=True)
    gateway_simulator.add_records([plan.spec])
    make_recheck_due(generation)
    generations_requeue_rechecks()
    reconcile_due()

    generation.refresh_from_db()
    assert generation.state == "verified"
    assert Discrepancy.objects.get(generation=generation).status == DiscrepancyStatus.RESOLVED
    assert rollups_match_generations() == []


def test_a_fastrouter_key_learns_its_hash_and_only_a_different_one_is_a_mismatch(world, gateway_simulator):
    ApiKey.objects.filter(pk=world.keys["fastrouter"].pk).update(gateway_key_hash="")  # not learned yet
    plans = plan_generations(world, count=80, plant_share=0, seed=21, now=timezone.now(), scripts=False)
    first, second = [plan for plan in plans if plan.key_name == "fastrouter"][:2]
    first.spec["body"]["api_key"] = "frk_made_by_fastrouter"
    second.spec["body"]["api_key"] = "frk_of_another_key"
    gateway_simulator.add_records([first.spec])
    generations_store(world, [first])
    reconcile_due()
    assert ApiKey.objects.get(pk=world.keys["fastrouter"].pk).gateway_key_hash == "frk_made_by_fastrouter"
    assert Generation.objects.get(external_id=first.external_id).state == "verified"

    gateway_simulator.add_records([second.spec])
    generations_store(world, [second])
    reconcile_due()

    assert Generation.objects.get(external_id=second.external_id).state == "disputed"
    assert Discrepancy.objects.get(generation__external_id=second.external_id).kind == "key_mismatch"
