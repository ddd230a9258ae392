"""/metrics: the series match the database (state) and what the processes counted (events),
and only a token or an allowed address may read them."""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import AccessToken
from billing.reconciliation.services import generations_reconcile
from billing.tasks.reconciliation import sweep_due_generations
from generations.fetching import generations_claim_due
from generations.models import GatewayRecord, Generation
from operations import events
from tests.api.factories import bearer_client, make_generation
from tests.billing.alert_helpers import eager_tasks  # noqa: F401
from tests.billing.reconciliation_world import generations_store, plan_generations, world_create

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_counted_events():
    events.events_reset()
    yield
    events.events_reset()


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples: dict[str, dict[tuple, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.fixture
def reconciled_world(gateway_simulator, eager_tasks):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=60, tag="met")
    planned = plan_generations(world, count=40, plant_share=0.3, seed=11, now=timezone.now(), scripts=False)
    gateway_simulator.add_records([plan.spec for plan in planned if plan.spec])
    generations_store(world, planned)
    for claim in generations_claim_due(now=timezone.now() + timedelta(hours=1)):
        generations_reconcile(claim=claim)
    # Some still pending, one of them old, on one gateway.
    for hours in (5, 1, 0):
        make_generation(
            world.keys["fastrouter"],
            created_at=timezone.now() - timedelta(hours=hours),
            next_attempt_at=timezone.now() + timedelta(days=1),
        )
    return world


def test_generation_gauges_match_the_database(client, reconciled_world):
    samples = scrape(client)

    counts = Generation.objects.values("gateway__slug", "state").annotate(count=Count("id"))
    expected = {(("gateway", row["gateway__slug"]), ("state", row["state"])): row["count"] for row in counts}
    exposed = {labels: value for labels, value in samples["tally_generations"].items() if value}
    assert exposed == expected
    assert len({state for (_, (_, state)) in expected}) >= 3  # verified, disputed, pending at least

    now = timezone.now()
    oldest = Generation.objects.pending().values("gateway__slug").annotate(oldest=Min("created_at"))
    for row in oldest:
        age = samples["tally_oldest_pending_age_seconds"][(("gateway", row["gateway__slug"]),)]
        assert abs(age - (now - row["oldest"]).total_seconds()) < 60
    assert max(samples["tally_oldest_pending_age_seconds"].values()) >= 5 * 3600 - 60


def test_lookup_counters_match_what_reconciliation_did(client, reconciled_world):
    samples = scrape(client)

    lookups = samples["tally_lookups_total"]
    records = dict(GatewayRecord.objects.values("generation__gateway__slug").annotate(n=Count("pk")).values_list(
        "generation__gateway__slug", "n"))
    ok = {dict(labels)["gateway"]: value for labels, value in lookups.items() if dict(labels)["outcome"] == "ok"}
    assert ok == records
    per_gateway = defaultdict(float)
    for labels, value in lookups.items():
        per_gateway[dict(labels)["gateway"]] += value
    latency_counts = {dict(labels)["gateway"]: value for labels, value in samples["tally_lookup_seconds_count"].items()}
    assert latency_counts == per_gateway
    assert sum(value for labels, value in lookups.items() if dict(labels)["outcome"] == "404") >= 1  # missing ones


def test_ingest_and_job_counters_count_what_happened(client, reconciled_world):
    token = AccessToken.issue(team=reconciled_world.team, scopes=["ingest"])[1]
    key = reconciled_world.keys["openrouter"]
    record = {"gateway": key.gateway.slug, "id": "gen-metrics-1", "api_key": key.slug, "model": "m",
              "created_at": timezone.now().isoformat(), "tokens_prompt": 1, "tokens_completion": 1, "cost": "0.1"}
    api = bearer_client(token)
    assert api.post("/api/v1/generations/", {"generations": [record]}, format="json").status_code == 201
    assert api.post("/api/v1/generations/", {"generations": [record]}, format="json").status_code == 201
    bad = {**record, "id": "gen-metrics-2", "cost": "-1"}
    assert api.post("/api/v1/generations/", {"generations": [bad]}, format="json").status_code == 400
    sweep_due_generations.apply()

    samples = scrape(client)

    assert samples["tally_ingest_records_total"][(("result", "created"), ("source", "api"))] == 1
    assert samples["tally_ingest_records_total"][(("result", "duplicate"), ("source", "api"))] == 1
    assert samples["tally_ingest_rejected_requests_total"][(("source", "api"),)] == 1
    sweep = (("outcome", "ok"), ("task", "billing.tasks.reconciliation.sweep_due_generations"))
    assert samples["tally_job_seconds_count"][sweep] == 1


def test_only_a_token_or_an_allowed_address_reads_the_metrics(client, settings, db):
    settings.TALLY_METRICS_TOKEN = "metrics-token-123"
    settings.TALLY_METRICS_ALLOWED_ADDRESSES = ["127.0.0.1"]

    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.9", HTTP_AUTHORIZATION="Bearer metrics-token-123").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_a_tally_adds_its_durations_up_into_cumulative_histogram_buckets_across_flushes(client):
    tally = events.Tally()
    for seconds in (0.03, 0.07, 0.2, 40.0):
        tally.observe(events.LOOKUP_SECONDS, seconds, gateway="hist")
    tally.count(events.LOOKUPS, gateway="hist", outcome="ok")
    tally.count(events.LOOKUPS, outcome="ok", gateway="hist")  # the labels' order does not matter
    tally.flush()
    tally.observe(events.LOOKUP_SECONDS, 0.05, gateway="hist")
    tally.flush()
    tally.flush()  # nothing new: nothing counted twice

    samples = scrape(client, REMOTE_ADDR="127.0.0.1")
    buckets = {
        dict(labels)["le"]: value
        for labels, value in samples["tally_lookup_seconds_bucket"].items()
        if dict(labels)["gateway"] == "hist"
    }
    assert buckets == {
        "0.05": 2.0, "0.1": 3.0, "0.25": 4.0, "0.5": 4.0, "1.0": 4.0, "2.5": 4.0, "5.0": 4.0, "10.0": 4.0,
        "30.0": 4.0, "+Inf": 5.0,
    }  # fmt: skip
    assert samples["tally_lookup_seconds_count"][(("gateway", "hist"),)] == 5
    assert samples["tally_lookup_seconds_sum"][(("gateway", "hist"),)] == pytest.approx(40.35)
    assert samples["tally_lookups_total"][(("gateway", "hist"), ("outcome", "ok"))] == 2
