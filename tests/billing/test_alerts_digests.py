"""The daily digest: finance gets every team's new findings, each opted-in team's admins get
theirs, largest money at stake first, with absolute links; the pause and dispute-rate alerts."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from accounts.models import Team
from billing.alerts.digests import digests_send
from billing.alerts.dispute_rate import dispute_rate_alerts_check
from billing.alerts.pauses import api_key_paused_alert, gateway_paused_alert
from billing.models import Discrepancy
from tests.api.factories import make_gateways, make_generation, make_key
from tests.billing.alert_helpers import add_people, eager_tasks, loopback_webhooks  # noqa: F401

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 9)


def finding(key, *, kind: str, delta: str | None, cost: str = "0.01", created: datetime, severity: str = "error"):
    generation = make_generation(key, cost=Decimal(cost), created_at=created)
    return Discrepancy.objects.create(
        generation=generation,
        kind=kind,
        severity=severity,
        delta=None if delta is None else Decimal(delta),
        created_at=created,
    )


@pytest.fixture
def teams(db, loopback_webhooks, eager_tasks):
    gateways = make_gateways()
    finance = get_user_model().objects.create_user("fin", email="fin@example.com", is_staff=True)
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    alpha = Team.objects.create(name="Alpha", slug="alpha", digest_opt_in=True)
    beta = Team.objects.create(name="Beta", slug="beta", digest_opt_in=True)
    gamma = Team.objects.create(name="Gamma", slug="gamma", digest_opt_in=False)
    keys = {team.slug: make_key(team, gateways["openrouter"], f"{team.slug}-key") for team in (alpha, beta, gamma)}
    people = {team.slug: add_people(team) for team in (alpha, beta, gamma)}
    noon = datetime(2026, 3, 9, 12, tzinfo=UTC)
    found = {
        "alpha-small": finding(keys["alpha"], kind="cost_mismatch", delta="-0.002", created=noon),
        "alpha-missing": finding(keys["alpha"], kind="missing_upstream", delta=None, cost="0.5", created=noon),
        "beta-big": finding(keys["beta"], kind="price_mismatch", delta="3.25", created=noon),
        "gamma": finding(keys["gamma"], kind="cost_mismatch", delta="0.04", created=noon),
        "beta-info": finding(keys["beta"], kind="cancelled_billed", delta=None, created=noon, severity="info"),
        "alpha-yesterday": finding(keys["alpha"], kind="cost_mismatch", delta="9", created=noon - timedelta(days=1)),
        "beta-tomorrow": finding(keys["beta"], kind="cost_mismatch", delta="9", created=noon + timedelta(days=1)),
    }
    return {"people": people, "found": found, "keys": keys}


def mail_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def listed_ids(message) -> list[str]:
    return [line.split(" on ")[1].split(",")[0] for line in message.body.splitlines() if line.startswith("- ")]


def test_finance_gets_every_teams_new_findings_largest_money_at_stake_first(teams, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        digests_send(day=DAY)

    [finance] = mail_to("fin@example.com")
    found = teams["found"]
    expected = [found[name].generation.external_id for name in ("beta-big", "alpha-missing", "gamma", "alpha-small")]
    assert listed_ids(finance) == expected
    assert f"https://tally.example.com/admin/billing/discrepancy/{found['beta-big'].pk}/change/" in finance.body
    assert finance.subject == "Tally: 4 new findings on 09 March 2026"


def test_each_opted_in_teams_admins_get_only_their_teams_findings(teams, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        digests_send(day=DAY)

    people, found = teams["people"], teams["found"]
    [alpha] = mail_to(people["alpha"]["admin"])
    assert listed_ids(alpha) == [found[name].generation.external_id for name in ("alpha-missing", "alpha-small")]
    generation = found["alpha-missing"].generation
    assert f"https://tally.example.com/spend/keys/alpha-key/generations/{generation.pk}/" in alpha.body
    [beta] = mail_to(people["beta"]["admin"])
    assert listed_ids(beta) == [found["beta-big"].generation.external_id]
    assert mail_to(people["gamma"]["admin"]) == []  # not opted in
    assert mail_to(people["alpha"]["member"]) == [] and mail_to(people["alpha"]["viewer"]) == []
    assert len(mail.outbox) == 3


def test_the_digest_of_a_day_is_sent_once(teams, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        digests_send(day=DAY)
        digests_send(day=DAY)
    assert len(mail.outbox) == 3


def test_a_paused_key_alerts_its_teams_admins_once_per_pause(teams, django_capture_on_commit_callbacks):
    key = teams["keys"]["beta"]
    key.paused_at, key.pause_reason = timezone.now(), "Key refused by the gateway: 401"
    key.save()
    with django_capture_on_commit_callbacks(execute=True):
        api_key_paused_alert(api_key=key)
        api_key_paused_alert(api_key=key)
    [message] = mail.outbox
    assert message.to == [teams["people"]["beta"]["admin"]]
    assert "401" in message.body


def test_a_dispute_rate_past_the_threshold_alerts_once_an_hour(teams, settings, django_capture_on_commit_callbacks):
    settings.TALLY_DISPUTE_RATE_MIN_GENERATIONS = 10
    key = teams["keys"]["alpha"]
    key.team.dispute_rate_threshold = Decimal("0.25")
    key.team.save()
    now = timezone.now().replace(minute=10, second=0, microsecond=0)  # the next minute is in the same hour
    for index in range(10):
        state = "disputed" if index < 2 else "verified"
        make_generation(key, state=state, reconciled_at=now - timedelta(minutes=5), created_at=now - timedelta(hours=2))

    with django_capture_on_commit_callbacks(execute=True):
        assert dispute_rate_alerts_check(team_ids=[key.team_id], now=now) == []  # 20% < 25%
        make_generation(key, state="disputed", reconciled_at=now, created_at=now - timedelta(hours=2))
        make_generation(key, state="disputed", reconciled_at=now, created_at=now - timedelta(hours=2))
        [alert] = dispute_rate_alerts_check(team_ids=[key.team_id], now=now)  # 4 of 12
        assert dispute_rate_alerts_check(team_ids=[key.team_id], now=now + timedelta(minutes=1)) == []
    assert "33.3% of the last hour" in alert.subject
    assert [message.to for message in mail.outbox] == [[teams["people"]["alpha"]["admin"]]]


def test_a_paused_gateway_tells_finance_and_the_admins_of_each_team_with_a_key_on_it(
    teams, django_capture_on_commit_callbacks
):
    gateway = teams["keys"]["alpha"].gateway
    gateway.paused_at, gateway.pause_reason = timezone.now(), "Payment required (402)"
    gateway.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = gateway_paused_alert(gateway=gateway)
        again = gateway_paused_alert(gateway=gateway)

    assert len(first) == 4 and again == []  # finance, alpha, beta, gamma
    people = teams["people"]
    assert sorted(tuple(message.to) for message in mail.outbox) == sorted(
        [("fin@example.com",)] + [(people[slug]["admin"],) for slug in ("alpha", "beta", "gamma")]
    )
    assert all("402" in message.body for message in mail.outbox)
