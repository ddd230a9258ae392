"""Monthly partitions on PostgreSQL: rows of a month without a partition are kept and moved
when it is created, the job is idempotent, identities stay unique across months, and month
queries read one partition."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.invoicing.settlement import unsettled_generations
from billing.models import Discrepancy
from billing.selectors import key_recent_generations
from generations.fetching import Claim, generations_claim_due, generations_of_claim
from generations.models import GatewayRecord, Generation
from generations.partitions import IDENTITY_TABLE, partition_name, partitions_ensure
from generations.services import Transition, generations_transition
from lib.months import Month
from tests.billing.invoice_helpers import make_discrepancy, make_generation, make_key, make_team

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

FAR_MONTH = Month(2031, 5)


def table_of(model, pk) -> str:
    with connection.cursor() as cursor:
        table, key = model._meta.db_table, model._meta.pk.column
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE {key} = %s", [pk])
        return cursor.fetchone()[0]


def identities(external_id: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, created_at FROM {IDENTITY_TABLE} WHERE external_id = %s", [external_id])
        return cursor.fetchall()


def explained_partitions(queryset) -> set[str]:
    """The generations partitions a query's plan reads."""
    return planned_partitions(json.loads(queryset.explain(format="json")))


def planned_partitions(plan: list) -> set[str]:
    """The generations partitions an EXPLAIN (FORMAT JSON) plan reads."""
    found: set[str] = set()

    def walk(node: dict) -> None:
        if node.get("Relation Name", "").startswith("generations_generation_"):
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_it_keeps_a_generation_of_a_month_without_partition_and_moves_it_with_its_record_and_finding():
    key = make_key(make_team())
    generation = make_generation(key, cost="0.5", at=datetime(2031, 5, 3, tzinfo=UTC))
    GatewayRecord.objects.create(generation=generation, raw="{}")
    make_discrepancy(generation)
    assert table_of(Generation, generation.pk) == "generations_generation_default"

    created = partitions_ensure(months_ahead=0)

    assert partition_name("generations_generation", FAR_MONTH) in created
    assert table_of(Generation, generation.pk) == partition_name("generations_generation", FAR_MONTH)
    assert table_of(GatewayRecord, generation.pk) == partition_name("generations_gatewayrecord", FAR_MONTH)
    assert identities(generation.external_id) == [(generation.pk, generation.created_at)]
    assert Discrepancy.objects.get().generation == generation


def test_it_creates_the_coming_months_once():
    first = partitions_ensure(months_ahead=6)
    again = partitions_ensure(months_ahead=6)
    this_month = Month.of(datetime.now(UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partition_name("generations_generation", this_month.shifted(6))])
        assert cursor.fetchone()[0] is not None
    assert again == [] and len(first) == 2 * len({name.rsplit("_p", 1)[1] for name in first})
    call_command("partitions", months_ahead=6)


def test_the_same_gateway_id_in_another_month_is_refused():
    key = make_key(make_team())
    generation = make_generation(key, cost="0.5", at=datetime(2026, 3, 10, tzinfo=UTC))
    with pytest.raises(IntegrityError), transaction.atomic():
        Generation.objects.create(
            gateway=key.gateway, external_id=generation.external_id, api_key=key, team=key.team, model="m",
            created_at=datetime(2026, 4, 10, tzinfo=UTC), tokens_prompt=1, tokens_completion=1, cost="0.1",
        )
    assert Generation.objects.filter(external_id=generation.external_id).count() == 1


def test_deleting_a_generation_removes_its_identity():
    key = make_key(make_team())
    generation = make_generation(key, cost="0.5", at=datetime(2026, 3, 10, tzinfo=UTC))
    GatewayRecord.objects.create(generation=generation, raw="{}")
    generation.delete()
    assert identities(generation.external_id) == []


def test_the_close_and_spend_page_month_queries_read_one_partition():
    team = make_team()
    key = make_key(team)
    for month in (2, 3, 4):
        make_generation(key, cost="0.5", at=datetime(2026, month, 10, tzinfo=UTC))
    partitions_ensure(months_ahead=0)  # their months' partitions, from DEFAULT
    march = partition_name("generations_generation", Month(2026, 3))

    assert explained_partitions(unsettled_generations(team=team, period=date(2026, 3, 1))) == {march}
    page = Generation.objects.filter(
        api_key=key, created_at__gte=datetime(2026, 3, 1, tzinfo=UTC), created_at__lt=datetime(2026, 4, 1, tzinfo=UTC)
    ).order_by("-created_at")[:50]
    assert explained_partitions(page) == {march}
    assert len(key_recent_generations(api_key=key, start=Month(2026, 3).start, end=Month(2026, 3).end)) == 1


def two_pending_generations_a_month_apart() -> list[Generation]:
    """Pending generations, due now, made in the previous month and in this one."""
    key = make_key(make_team())
    this_month = Month.of(timezone.now()).start
    generations = [
        make_generation(key, cost="0.1", at=this_month - timedelta(hours=1)),
        make_generation(key, cost="0.2", at=timezone.now()),
    ]
    Generation.objects.filter(pk__in=[g.pk for g in generations]).update(next_attempt_at=timezone.now())
    return generations


def test_a_claimed_batch_knows_when_its_generations_were_made_and_reads_only_those_months():
    generations = two_pending_generations_a_month_apart()
    their_partitions = {table_of(Generation, generation.pk) for generation in generations}
    assert len(their_partitions) == 2 and len(partition_tables()) > 4

    [claim] = generations_claim_due(gateway_ids=[generations[0].gateway_id])

    assert (claim.made_from, claim.made_until) == (generations[0].created_at, generations[1].created_at)
    batch = Generation.objects.made_between(claim.made_from, claim.made_until).filter(pk__in=claim.generation_ids)
    assert explained_partitions(batch) == their_partitions
    assert explained_partitions(Generation.objects.filter(pk__in=claim.generation_ids)) == set(partition_tables())
    assert [g.pk for g in generations_of_claim(claim=claim)] == [g.pk for g in generations]
    # A batch queued before claims carried the range reads every month, and finds the same.
    unbounded = Claim(gateway_id=claim.gateway_id, generation_ids=claim.generation_ids, leased_until=claim.leased_until)
    assert [g.pk for g in generations_of_claim(claim=unbounded)] == [g.pk for g in generations]


def test_a_batch_of_transitions_is_planned_on_its_generations_months_only():
    generations = two_pending_generations_a_month_apart()
    with CaptureQueriesContext(connection) as captured:
        generations_transition(changes=[(g, Transition.retried(when=timezone.now())) for g in generations])

    [update] = [query["sql"] for query in captured if query["sql"].startswith(f"UPDATE {Generation._meta.db_table} ")]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {update}")
        plan = cursor.fetchone()[0]
    assert planned_partitions(plan if isinstance(plan, list) else json.loads(plan)) == {
        table_of(Generation, generation.pk) for generation in generations
    }
    assert set(Generation.objects.filter(pk__in=[g.pk for g in generations]).values_list("attempts", flat=True)) == {1}


def partition_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
            [Generation._meta.db_table],
        )
        return [row[0] for row in cursor.fetchall()]
