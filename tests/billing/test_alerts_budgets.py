"""Budget alerts end to end: ingest over the API and reconciliation against the gateway
simulator (real HTTP), the checks queued after commit, mail to the team's admins and a
webhook POST to a local receiver. Each threshold alerts once per month, whatever retries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from accounts.models import AccessToken
from billing.alerts.models import Alert, AlertDelivery
from billing.tasks.alerts import check_spend_alerts
from generations.fetching import generations_claim_due
from generations.models import Generation
from billing.reconciliation.services import generations_reconcile
from tests.api.factories import bearer_client
from tests.billing.alert_helpers import add_people, eager_tasks, loopback_webhooks, webhook_bodies  # noqa: F401
from tests.billing.reconciliation_world import plan_generations, world_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(gateway_simulator, httpserver, loopback_webhooks, eager_tasks):
    gateway_simulator.configure(retention_seconds=7 * 24 * 3600)
    world = world_create(simulator_url=gateway_simulator.url, grace_seconds=60, tag="bud")
    httpserver.expect_request("/hooks/team", method="POST").respond_with_data("ok")
    world.team.alert_webhook_url = httpserver.url_for("/hooks/team")
    world.team.save()
    world.people = add_people(world.team)
    return world


def clean_records(world, gateway_simulator, *, count: int, seed: int) -> list[dict]:
    """Records of the openrouter key, created a minute ago, that the gateway agrees with."""
    plans = plan_generations(world, count=80, plant_share=0, seed=seed, now=timezone.now(), scripts=False)
    plans = [plan for plan in plans if plan.key_name == "openrouter" and plan.spec][:count]
    gateway_simulator.add_records([plan.spec for plan in plans])
    created_at = (timezone.now() - timedelta(minutes=1)).isoformat()
    return [
        {
            "gateway": world.keys["openrouter"].gateway.slug,
            "id": plan.external_id,
            "api_key": world.keys["openrouter"].slug,
            "model": plan.model,
            "created_at": created_at,
            "tokens_prompt": plan.tokens_prompt,
            "tokens_completion": plan.tokens_completion,
            "tokens_cached": plan.tokens_cached,
            "cost": str(plan.cost),
        }
        for plan in plans
    ]


def ingest(world, records) -> dict:
    token = AccessToken.issue(team=world.team, scopes=["ingest"])[1]
    response = bearer_client(token).post("/api/v1/generations/", {"generations": records}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def reconcile_due() -> None:
    for claim in generations_claim_due(now=timezone.now() + timedelta(hours=1)):
        generations_reconcile(claim=claim)


def test_each_threshold_mails_the_admins_and_posts_the_webhook_once_however_often_work_is_retried(
    world, gateway_simulator, httpserver, client
):
    first = clean_records(world, gateway_simulator, count=6, seed=3)
    second = clean_records(world, gateway_simulator, count=12, seed=4)[6:]
    first_cost = sum(Decimal(record["cost"]) for record in first)
    key = world.keys["openrouter"]
    # 90% of the budget after the first batch, past 100% after the second.
    key.monthly_budget = (first_cost / Decimal("0.9")).quantize(Decimal("0.01"), rounding="ROUND_UP")
    assert first_cost * 100 >= key.monthly_budget * 80
    key.save()

    assert ingest(world, first)["created"] == 6
    assert [message.subject for message in mail.outbox] == [
        f"Key openrouter ({world.team.name}) passed 80% of its {timezone.now():%B %Y} budget"
    ]
    assert mail.outbox[0].to == [world.people["admin"]]
    assert len(httpserver.log) == 1

    assert ingest(world, first)["duplicates"] == 6  # the client retries: nothing new
    assert ingest(world, second)["created"] == len(second)
    reconcile_due()
    reconcile_due()  # a second pass finds nothing pending: changes nothing
    month = f"{timezone.now():%Y-%m}"
    check_spend_alerts.delay([key.pk], [world.team.pk], [month])  # a retried check task
    assert ingest(world, first + second)["duplicates"] == len(first) + len(second)

    assert Generation.objects.filter(api_key=key, state="verified").count() == len(first) + len(second)
    assert sorted(message.subject.split(" passed ")[1][:4] for message in mail.outbox) == ["100%", "80% "]
    assert all(message.to == [world.people["admin"]] for message in mail.outbox)
    bodies = webhook_bodies(httpserver)
    assert len(bodies) == 2
    assert "passed 80%" in bodies[0]["text"] and "passed 100%" in bodies[1]["text"]
    assert f"https://tally.example.com/spend/keys/{key.slug}/?month={month}" in mail.outbox[0].body
    assert Alert.objects.filter(api_key=key).count() == 2
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}
    client.force_login(get_user_model().objects.get(email=world.people["viewer"]))
    page = client.get(f"/spend/keys/{key.slug}/").content.decode()
    assert "Alerted at 80%, 100%" in page


def test_a_team_budget_alerts_once_when_all_its_keys_together_pass_it(world, gateway_simulator, httpserver):
    records = clean_records(world, gateway_simulator, count=4, seed=5)
    total = sum(Decimal(record["cost"]) for record in records)
    world.team.monthly_budget = (total * Decimal("1.1")).quantize(Decimal("0.01"))
    world.team.save()

    ingest(world, records[:2])
    ingest(world, records)
    ingest(world, records)

    team_alerts = Alert.objects.filter(kind="team_budget", team=world.team)
    expected = [80] if total * 100 >= world.team.monthly_budget * 80 else []
    assert list(team_alerts.values_list("threshold", flat=True)) == expected
    assert len(mail.outbox) == len(expected) == len(httpserver.log)
