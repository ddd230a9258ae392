"""The CSV download of one key's month of generations."""

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse

from billing.spend_exports import HEADER, spend_export_rows
from generations.models import Generation
from tests.billing.spend_data import generation_dispute, generations_add, month_slug, month_start, spend_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return spend_world()


def download(client, api_key, month: str | None = None):
    url = reverse("spend:key-csv", args=[api_key.slug]) + (f"?month={month}" if month else "")
    response = client.get(url)
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    return response, list(csv.reader(io.StringIO(body)))


def test_it_streams_one_row_per_generation_of_the_key_in_the_month(client, world):
    start = month_start()
    ours = [
        *generations_add(world.key, created_at=start + timedelta(hours=2), cost="0.000000037500", count=2),
        *generations_add(
            world.key, created_at=start + timedelta(days=1), cost="1.5", state="verified", charged="1.4999", model="x/y"
        ),
    ]
    disputed = generations_add(world.key, created_at=start + timedelta(days=2), cost="0.40")[0]
    generation_dispute(disputed, charged="0.52")
    ours.append(disputed)
    generations_add(world.second_key, created_at=start, cost="9")
    generations_add(world.key, created_at=month_start(1) + timedelta(days=3), cost="8")
    client.force_login(world.viewer)

    response, rows = download(client, world.key)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="tally-{world.key.slug}-{month_slug(start)}.csv"'
    assert rows[0] == list(HEADER)
    expected = []
    for generation in sorted(Generation.objects.filter(pk__in=[g.pk for g in ours]), key=lambda g: g.created_at):
        expected.append(
            [
                generation.external_id,
                world.gateway.slug,
                generation.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                generation.model,
                str(generation.tokens_prompt),
                str(generation.tokens_completion),
                "0",
                "0",
                format(generation.cost, "f"),
                "" if generation.charged_cost is None else format(generation.charged_cost, "f"),
                generation.state,
            ]
        )
    assert rows[1:] == expected
    assert rows[1][8] == "0.000000037500000000"
    assert [row[10] for row in rows[1:]] == ["pending", "pending", "verified", "disputed"]
    assert rows[4][9] == "0.520000000000000000"


def test_it_exports_the_month_asked_for(client, world):
    previous = month_start(1)
    generations_add(world.key, created_at=previous + timedelta(days=5), cost="2", count=3)
    generations_add(world.key, created_at=month_start(), cost="1")
    client.force_login(world.member)

    response, rows = download(client, world.key, month=month_slug(previous))

    assert f"-{month_slug(previous)}.csv" in response["Content-Disposition"]
    assert len(rows) == 4
    assert {row[8] for row in rows[1:]} == {"2.000000000000000000"}


def test_it_quotes_cells_a_spreadsheet_would_run_as_formulas(client, world):
    generations_add(world.key, created_at=month_start(), cost="1", model="=HYPERLINK(\"http://x\")", external_id="+cmd")
    client.force_login(world.member)
    _, rows = download(client, world.key)
    assert rows[1][0] == "'+cmd"
    assert rows[1][3] == "'=HYPERLINK(\"http://x\")"


def test_it_answers_404_to_another_team_and_sends_strangers_to_log_in(client, world):
    url = reverse("spend:key-csv", args=[world.key.slug])
    assert client.get(url).status_code == 302
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404


def test_it_has_only_the_header_for_a_month_without_generations(client, world):
    client.force_login(world.member)
    _, rows = download(client, world.key)
    assert rows == [list(HEADER)]


@pytest.mark.postgres
def test_it_reads_generations_through_the_key_and_time_index(world):
    for months_back in (0, 1, 2):
        generations_add(world.key, created_at=month_start(months_back), cost="1", count=300, spacing=timedelta(minutes=9))
    generations_add(world.second_key, created_at=month_start(), cost="1", count=300)
    # Another key in the exported month too: on PostgreSQL the month is a partition of its own,
    # where a key alone in it would be served as well by the time index.
    generations_add(world.second_key, created_at=month_start(1), cost="1", count=300)
    rows = spend_export_rows(api_key=world.key, start=month_start(1), end=month_start())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE generations_generation")
        # A small test table is cheaper to scan than to index: forbid the scan to see which index serves it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = rows.explain()
    # On PostgreSQL the month's partition has its own copy of the index, named after its columns.
    assert "generation_key_time" in plan or "_api_key_id_created_at_idx" in plan, plan
    assert rows.count() == 300
