"""Claiming due generations: leases as claim tokens, paused gateways and keys skipped, no row
claimed twice (SKIP LOCKED on PostgreSQL), lookup requests with the right secret."""

import json
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Team
from generations.fetching import Claim, due_candidates, generations_claim_due, generations_of_claim, lookup_requests_for
from generations.models import Generation
from tests.api.factories import make_gateways, make_key
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create


@pytest.fixture
def world(db):
    return world_create(simulator_url="http://127.0.0.1:9", tag="f")


def store(world, count: int, **kwargs) -> list[Generation]:
    planned = plan_generations(world, count=count, plant_share=0, seed=21, now=timezone.now(), scripts=False)
    return generations_store(world, planned, **kwargs)


def test_it_claims_due_generations_in_batches_per_gateway_under_a_lease(world, settings):
    settings.TALLY_RECONCILE_LEASE_SECONDS = 120
    generations = store(world, 30)
    now = timezone.now()

    claims = generations_claim_due(now=now, size=4)

    assert sorted(pk for claim in claims for pk in claim.generation_ids) == sorted(g.pk for g in generations)
    assert all(len(claim.generation_ids) <= 4 for claim in claims)
    for claim in claims:
        assert claim.leased_until == now + timedelta(seconds=120)
        kinds = set(Generation.objects.filter(pk__in=claim.generation_ids).values_list("gateway_id", flat=True))
        assert kinds == {claim.gateway_id}
    assert set(Generation.objects.values_list("next_attempt_at", flat=True)) == {now + timedelta(seconds=120)}
    # Claimed: not due again until the lease runs out.
    assert generations_claim_due(now=now + timedelta(seconds=119)) == []
    assert len([pk for claim in generations_claim_due(now=now + timedelta(seconds=121)) for pk in claim.generation_ids]) == 30


def test_batches_come_gateway_by_gateway_in_turn(world):
    store(world, 60)
    per_gateway = Counter(Generation.objects.values_list("gateway_id", flat=True))

    claims = generations_claim_due(size=4)

    gateways = [claim.gateway_id for claim in claims]
    turns = min(per_gateway.values()) // 4
    # As long as every gateway has batches left, each turn has one batch of each gateway.
    for turn in range(turns):
        assert sorted(gateways[turn * 3 : turn * 3 + 3]) == sorted(per_gateway), gateways
    assert Counter(gateways) == {gateway: -(-count // 4) for gateway, count in per_gateway.items()}


def test_it_leaves_generations_that_are_not_due_or_not_pending(world):
    later = timezone.now() + timedelta(minutes=5)
    store(world, 5, next_attempt_at=later)
    Generation.objects.filter(pk=Generation.objects.first().pk).update(state="verified", next_attempt_at=None)

    assert generations_claim_due() == []
    assert sum(len(claim.generation_ids) for claim in generations_claim_due(now=later)) == 4


def test_it_skips_paused_gateways_and_paused_keys(world):
    generations = store(world, 40)
    world.gateways["openrouter"].paused_at = timezone.now()
    world.gateways["openrouter"].save()
    world.keys["fastrouter"].paused_at = timezone.now()
    world.keys["fastrouter"].save()

    claimed = {pk for claim in generations_claim_due() for pk in claim.generation_ids}

    expected = {g.pk for g in generations if g.gateway.kind == "kushrouter"}
    assert claimed == expected and expected


def test_a_batch_only_sees_generations_still_carrying_its_lease(world):
    store(world, 40)
    [claim] = generations_claim_due(gateway_ids=[world.gateways["kushrouter"].pk])
    first = claim.generation_ids[0]
    Generation.objects.filter(pk=first).update(next_attempt_at=timezone.now())  # retried by someone else

    seen = [generation.pk for generation in generations_of_claim(claim=claim)]

    assert first not in seen
    assert seen == claim.generation_ids[1:]
    stale = Claim(gateway_id=claim.gateway_id, generation_ids=claim.generation_ids, leased_until=claim.leased_until + timedelta(microseconds=1))
    assert generations_of_claim(claim=stale) == []


def test_it_looks_up_with_the_key_that_made_the_generation_or_the_gateway_secret(world):
    generations = list(Generation.objects.filter(pk__in=[g.pk for g in store(world, 20)]).select_related("api_key"))
    kushrouter = world.gateways["kushrouter"]
    own = [g for g in generations if g.gateway_id == kushrouter.pk]

    requests = lookup_requests_for(gateway=kushrouter, generations=own)

    assert [request.generation_id for request in requests] == [g.external_id for g in own]
    assert {request.secret for request in requests} == {world.secrets["kushrouter"]}
    kushrouter.set_lookup_secret("account-wide-secret")
    assert {request.secret for request in lookup_requests_for(gateway=kushrouter, generations=own)} == {"account-wide-secret"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_never_claim_the_same_generation(world):
    generations = store(world, 300)
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = []

    def sweep() -> None:
        barrier.wait()
        try:
            ids = [pk for claim in generations_claim_due(size=10, limit_per_gateway=40) for pk in claim.generation_ids]
            claimed.append(ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [pk for ids in claimed for pk in ids]
    assert len(everything) == len(set(everything))
    per_gateway = Counter(g.gateway_id for g in generations)
    assert len(everything) == sum(min(count, 4 * 40) for count in per_gateway.values())
    assert set(everything) <= {g.pk for g in generations}


def rows_examined(plan: dict) -> int:
    """Rows every node of an EXPLAIN ANALYZE plan produced or threw away, over all its loops."""
    own = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Join Filter", 0))
    return own * plan.get("Actual Loops", 1) + sum(rows_examined(child) for child in plan.get("Plans", []))


@pytest.mark.postgres
def test_claiming_a_burst_of_pending_generations_reads_them_once_whatever_the_number_of_keys(db):
    gateways = make_gateways()
    team = Team.objects.create(name="Burst", slug="burst")
    keys = [make_key(team, gateways["openrouter"], f"burst-{number}") for number in range(200)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE generations_generation")  # the statistics of an empty table
    now = timezone.now()
    Generation.objects.bulk_create(
        Generation(
            gateway=gateways["openrouter"], external_id=f"burst-{number}", api_key=keys[number % len(keys)], team=team,
            model="openai/gpt-4o-mini", created_at=now, tokens_prompt=100, tokens_completion=20, cost=Decimal("0.001"),
            next_attempt_at=now,
        )  # fmt: skip
        for number in range(2_000)
    )

    candidates = due_candidates(gateway_id=gateways["openrouter"].pk, now=now)
    [explained] = json.loads(candidates.explain(format="json", analyze=True))

    assert candidates.count() == 2_000
    # A plan that joins every key to every pending row reads 200 x 2,000 rows; this one, a few x 2,000.
    assert rows_examined(explained["Plan"]) < 20_000
