"""Concurrent posts of the same generations: each stored once, counted once, no deadlock."""

import threading

import pytest
from django.db import connection

from generations.models import DailySpend, Generation
from tests.api.factories import record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def post_concurrently(client_factory, bodies: list[list[dict]]) -> list[dict]:
    barrier = threading.Barrier(len(bodies))
    answers: list[dict | None] = [None] * len(bodies)

    def run(position: int) -> None:
        try:
            client = client_factory()
            barrier.wait(timeout=10)
            response = client.post("/api/v1/generations/", {"generations": bodies[position]}, format="json")
            assert response.status_code == 201, response.content
            answers[position] = response.json()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(position,)) for position in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers), answers
    return answers


def test_identical_concurrent_posts_create_each_generation_once(team_a):
    records = [record(team_a.key if index % 2 else team_a.fast_key) for index in range(2_000)]

    answers = post_concurrently(team_a.client, [records, records, records])

    assert sum(answer["created"] for answer in answers) == 2_000
    assert sum(answer["duplicates"] for answer in answers) == 4_000
    assert all(answer["conflicts"] == [] for answer in answers)
    assert Generation.objects.count() == 2_000
    assert sum(DailySpend.objects.values_list("generations", flat=True)) == 2_000


def test_overlapping_concurrent_posts_count_every_record_once(team_a):
    records = [record(team_a.key) for _ in range(3_000)]
    # Reversed order in the second request: locks are still taken in one order (no deadlock).
    first, second = records[:2_000], list(reversed(records[1_000:]))

    answers = post_concurrently(team_a.client, [first, second])

    assert sum(answer["created"] for answer in answers) == 3_000
    assert sum(answer["duplicates"] for answer in answers) == 1_000
    assert Generation.objects.count() == 3_000
    assert DailySpend.objects.get().generations == 3_000


@pytest.fixture
def identity_refusing_poison():
    """A unique violation that no concurrent request causes: PostgreSQL refuses every row whose
    id starts with "poison", as a constraint the ingest does not know of would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.external_id LIKE 'poison%%' THEN "
            "RAISE EXCEPTION 'poisoned' USING ERRCODE = 'unique_violation'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON generations_generation_identity "
            "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_poison ON generations_generation_identity")
        cursor.execute("DROP FUNCTION refuse_poison()")


@pytest.mark.timeout(60)
def test_a_unique_violation_no_race_explains_surfaces_and_stores_nothing(team_a, identity_refusing_poison):
    import psycopg

    records = [record(team_a.key), record(team_a.key, id="poison-1"), record(team_a.key)]

    with pytest.raises(psycopg.errors.UniqueViolation, match="poisoned"):
        team_a.client().post("/api/v1/generations/", {"generations": records}, format="json")

    assert Generation.objects.count() == 0
    assert not DailySpend.objects.exists()
