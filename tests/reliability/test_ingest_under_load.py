"""Ingest over real HTTP (gunicorn on loopback, PostgreSQL): clients posting overlapping batches
of the same generations at once, and a bounded load test. Every generation is stored once,
and what the clients were told adds up to what is stored.

The load test runs TALLY_LOAD_SECONDS (default 15) with TALLY_LOAD_CLIENTS (default 50) clients;
RELIABILITY.md records a longer run.
"""

import itertools
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from django.db.models import Sum

from generations.models import DailySpend, Generation
from tests.api.factories import make_gateways, make_team, record
from tests.reliability.processes import gunicorn_serving

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOAD_SECONDS = float(os.environ.get("TALLY_LOAD_SECONDS", "15"))
LOAD_CLIENTS = int(os.environ.get("TALLY_LOAD_CLIENTS", "50"))


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker, tmp_path_factory):
    with gunicorn_serving(log_path=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as url:
        yield url


@pytest.fixture
def team():
    return make_team("loaded", make_gateways())


def post(client: httpx.Client, records: list[dict]) -> httpx.Response:
    return client.post("/api/v1/generations/", json={"generations": records})


def bearer_client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def test_ten_clients_posting_overlapping_batches_store_each_generation_once(server_url, team):
    ids = [f"overlap-{index:04d}" for index in range(600)]
    sent: list[list[dict]] = []
    for client_number in range(10):
        chosen = ids[client_number * 40 : client_number * 40 + 240]
        records = [record(team.key, id=external_id) for external_id in chosen]
        if client_number == 9:  # the same ids with other content: conflicts, never a second row
            for item in records[:30]:
                item["cost"] = "0.0001"
        random.Random(client_number).shuffle(records)
        sent.append(records)
    answers: list[list[dict]] = [[] for _ in sent]
    failures: list[str] = []
    barrier = threading.Barrier(len(sent))

    def run(position: int) -> None:
        with bearer_client(server_url, team.ingest_token) as client:
            barrier.wait(timeout=30)
            for start in range(0, len(sent[position]), 60):
                response = post(client, sent[position][start : start + 60])
                if response.status_code != 201:
                    failures.append(f"{response.status_code}: {response.text[:300]}")
                    continue
                answers[position].append(response.json())

    threads = [threading.Thread(target=run, args=(position,)) for position in range(len(sent))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    assert failures == []
    distinct = {item["id"] for records in sent for item in records}
    assert sum(answer["created"] for client in answers for answer in client) == len(distinct)
    for records, client in zip(sent, answers, strict=True):
        told = sum(answer["created"] + answer["duplicates"] + len(answer["conflicts"]) for answer in client)
        assert told == len(records)
    rows = Counter(Generation.objects.values_list("gateway__slug", "external_id"))
    assert len(rows) == len(distinct) and set(rows.values()) == {1}
    assert DailySpend.objects.aggregate(total=Sum("generations"))["total"] == len(distinct)


@dataclass
class LoadTally:
    accepted: int = 0
    requests: int = 0
    retries: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_fifty_clients_ingesting_for_a_while_get_no_5xx_and_lose_nothing(server_url, team):
    tally = LoadTally()
    stop_at = time.monotonic() + LOAD_SECONDS
    numbers = itertools.count()

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        previous: list[dict] = []
        with bearer_client(server_url, team.ingest_token) as client:
            while time.monotonic() < stop_at:
                retry = bool(previous) and rng.random() < 0.1  # a client that did not trust the answer
                batch = previous if retry else [
                    record(team.key if rng.random() < 0.5 else team.fast_key, id=f"load-{next(numbers)}-{uuid.uuid4().hex[:8]}")
                    for _ in range(rng.randint(1, 25))
                ]
                try:
                    response = post(client, batch)
                except httpx.HTTPError as error:
                    with tally.lock:
                        tally.errors.append(f"{type(error).__name__}: {error}")
                    continue
                with tally.lock:
                    tally.requests += 1
                    tally.retries += retry
                    tally.statuses[response.status_code] += 1
                    if response.status_code == 201:
                        tally.accepted += response.json()["created"]
                previous = batch

    threads = [threading.Thread(target=client_loop, args=(seed,)) for seed in range(LOAD_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 180)

    print(  # kept in the -s output for RELIABILITY.md
        f"\nload: {LOAD_CLIENTS} clients, {LOAD_SECONDS:.0f} s, {tally.requests} requests "
        f"({tally.retries} retries), {tally.accepted} generations accepted, statuses {dict(tally.statuses)}"
    )
    assert tally.errors == []
    assert set(tally.statuses) == {201}, tally.statuses
    assert tally.requests >= LOAD_CLIENTS
    assert Generation.objects.count() == tally.accepted
    assert DailySpend.objects.aggregate(total=Sum("generations"))["total"] == tally.accepted
