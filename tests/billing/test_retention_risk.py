"""generations_flag_retention_risk: pending generations close to their gateway's retention are
reported, and the ones whose next lookup would come too late are brought forward."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from billing.reconciliation.services import RetentionRisk, generations_flag_retention_risk
from generations.models import Generation, GenerationState
from tests.billing.invoice_helpers import make_gateway, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def pending(api_key, *, age: timedelta, next_attempt_in: timedelta, state: str = GenerationState.PENDING) -> Generation:
    generation = make_generation(api_key, cost="0.01", at=NOW - age, state=state)
    Generation.objects.filter(pk=generation.pk).update(next_attempt_at=NOW + next_attempt_in)
    return generation


def test_it_reports_generations_near_retention_and_brings_forward_those_that_would_be_too_late(caplog):
    kush = make_gateway("kushrouter")
    kush.retention_days = 7
    kush.save(update_fields=["retention_days"])
    team = make_team()
    key = make_key(team, gateway=kush)
    forever_key = make_key(team, name="forever")  # openrouter: no retention limit
    too_late = pending(key, age=timedelta(days=6, hours=12), next_attempt_in=timedelta(days=2))
    in_time = pending(key, age=timedelta(days=6, hours=12), next_attempt_in=timedelta(hours=1))
    young = pending(key, age=timedelta(days=3), next_attempt_in=timedelta(days=2))
    settled = pending(key, age=timedelta(days=6, hours=20), next_attempt_in=timedelta(days=2), state="verified")
    unlimited = pending(forever_key, age=timedelta(days=30), next_attempt_in=timedelta(days=2))

    with caplog.at_level(logging.WARNING, logger="billing.reconciliation.services"):
        risks = generations_flag_retention_risk(now=NOW)

    assert risks == [RetentionRisk(gateway_slug="kushrouter", at_risk=2, expedited=1)]
    attempts = dict(Generation.objects.values_list("pk", "next_attempt_at"))
    assert attempts[too_late.pk] == NOW
    assert attempts[in_time.pk] == NOW + timedelta(hours=1)
    assert attempts[young.pk] == attempts[settled.pk] == attempts[unlimited.pk] == NOW + timedelta(days=2)
    assert "2 pending generations on kushrouter are within 1 day, 0:00:00 of its 7-day retention" in caplog.text
    assert "(1 brought forward)" in caplog.text


def test_a_wider_warning_window_reaches_younger_generations_and_a_second_run_changes_nothing():
    kush = make_gateway("kushrouter")
    kush.retention_days = 7
    kush.save(update_fields=["retention_days"])
    key = make_key(make_team(), gateway=kush)
    pending(key, age=timedelta(days=4, hours=1), next_attempt_in=timedelta(days=5))

    assert generations_flag_retention_risk(now=NOW) == []
    assert generations_flag_retention_risk(now=NOW, warning=timedelta(days=3)) == [
        RetentionRisk(gateway_slug="kushrouter", at_risk=1, expedited=1)
    ]
    assert generations_flag_retention_risk(now=NOW, warning=timedelta(days=3)) == [
        RetentionRisk(gateway_slug="kushrouter", at_risk=1, expedited=0)
    ]
