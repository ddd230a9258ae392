"""Checking a gateway's day against the simulator over HTTP, on the test database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Gateway
from accounts.services import gateway_create
from billing.coverage.models import CoverageCheck, KeyDayCoverage
from billing.coverage.services import (
    CHECKED,
    FAILED,
    PAUSED,
    CoverageNotCheckable,
    coverage_check_day,
    days_to_check,
)
from billing.coverage.writes import AGREE_NOTE
from billing.models import Discrepancy, DiscrepancyEvent
from generations.gateways.base import TransientFailure
from tests.billing.coverage_world import (
    LEAKY_UNPOSTED,
    SECRET_LEAKY,
    UNRECORDED_DELTA,
    coverage_world_served,
    ingest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(gateway_simulator):
    return coverage_world_served(gateway_simulator)


def findings():
    return list(Discrepancy.objects.filter(generation__isnull=True).order_by("api_key_id", "kind"))


def test_calls_tally_never_received_are_one_unrecorded_spend_finding(world):
    result = coverage_check_day(gateway=world.gateway, day=world.day)
    assert (result.outcome, result.matched, result.differed) == (CHECKED, 1, 1)
    [finding] = findings()
    assert (finding.kind, finding.api_key_id, finding.team_id, finding.day) == (
        "unrecorded_spend", world.leaky.pk, world.team.pk, world.day,
    )  # fmt: skip
    assert finding.model == "openai/gpt-4o-mini" and finding.severity == "error"
    assert (finding.expected, finding.actual, finding.delta) == (Decimal("0.002"), Decimal("0.0320005"), UNRECORDED_DELTA)
    assert finding.status == "open"
    coverage = {row.api_key_id: row for row in KeyDayCoverage.objects.all()}
    assert coverage[world.leaky.pk].status == "differed" and coverage[world.tidy.pk].status == "matched"
    assert (coverage[world.leaky.pk].gateway_requests, coverage[world.leaky.pk].tally_generations) == (4, 2)


def test_the_stranger_key_at_the_gateway_is_listed_with_its_spend(world):
    result = coverage_check_day(gateway=world.gateway, day=world.day)
    check = CoverageCheck.objects.get(gateway=world.gateway, day=world.day)
    assert [key["label"] for key in check.unknown_keys] == ["sk-or-v1-str...ccc"]
    assert result.unknown_keys == ["sk-or-v1-str...ccc"]
    assert check.unattributed_cost == Decimal("0.25")


def test_rerunning_a_day_changes_nothing(world):
    coverage_check_day(gateway=world.gateway, day=world.day)
    before = [(d.pk, d.status, d.delta, d.updated_at) for d in findings()]
    events = DiscrepancyEvent.objects.count()
    coverage_check_day(gateway=world.gateway, day=world.day)
    assert [(d.pk, d.status, d.delta, d.updated_at) for d in findings()] == before
    assert DiscrepancyEvent.objects.count() == events


def test_late_ingest_closes_the_finding_by_itself_with_history(world):
    coverage_check_day(gateway=world.gateway, day=world.day)
    ingest(world, LEAKY_UNPOSTED)
    coverage_check_day(gateway=world.gateway, day=world.day)
    [finding] = findings()
    assert (finding.status, finding.status_reason, finding.status_changed_by) == ("resolved", AGREE_NOTE, None)
    assert list(finding.events.values_list("to_status", flat=True)) == ["open", "resolved"]
    assert KeyDayCoverage.objects.get(api_key=world.leaky, day=world.day).status == "matched"


def test_a_finding_finance_wrote_off_stays_written_off(world):
    from billing.discrepancies import discrepancy_change_status

    coverage_check_day(gateway=world.gateway, day=world.day)
    [finding] = findings()
    discrepancy_change_status(discrepancy=finding, to_status="written_off", by=None, reason="Laptop test calls")
    coverage_check_day(gateway=world.gateway, day=world.day)
    assert findings()[0].status == "written_off"


def test_an_inference_key_pauses_coverage_and_tells_the_admins(world, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    world.gateway.set_management_secret(SECRET_LEAKY)
    world.gateway.save()
    result = coverage_check_day(gateway=world.gateway, day=world.day)
    assert result.outcome == PAUSED
    gateway = Gateway.objects.get(pk=world.gateway.pk)
    assert gateway.coverage_paused_at is not None and "403" in gateway.coverage_pause_reason
    assert gateway.paused_at is None  # lookups go on
    assert len(mail.outbox) == 1 and "Coverage checks on gateway openrouter paused" in mail.outbox[0].subject
    assert SECRET_LEAKY not in mail.outbox[0].body
    assert coverage_check_day(gateway=gateway, day=world.day).outcome == PAUSED
    assert len(mail.outbox) == 1 and not findings()


def test_server_errors_are_raised_for_retrying_and_write_nothing(world, gateway_simulator):
    gateway_simulator.configure(scripts={"/api/v1/activity": ["503"]})
    with pytest.raises(TransientFailure):
        coverage_check_day(gateway=world.gateway, day=world.day)
    assert not findings() and not KeyDayCoverage.objects.exists()


def test_an_unreadable_answer_is_a_failed_check_that_keeps_earlier_findings(world, gateway_simulator):
    coverage_check_day(gateway=world.gateway, day=world.day)
    gateway_simulator.configure(scripts={"/api/v1/keys": ["malformed"]})
    assert coverage_check_day(gateway=world.gateway, day=world.day).outcome == FAILED
    assert CoverageCheck.objects.get(day=world.day).outcome == "failed"
    assert findings()[0].status == "open"


def test_days_that_cannot_be_checked_are_refused(world, gateway_simulator):
    today = datetime.now(UTC).date()
    for day in (today, today - timedelta(days=31)):
        with pytest.raises(CoverageNotCheckable):
            coverage_check_day(gateway=world.gateway, day=day)
    kush = gateway_create(slug="kush", kind="kushrouter", base_url=gateway_simulator.base_url("kushrouter"))
    with pytest.raises(CoverageNotCheckable, match="no per-key activity"):
        coverage_check_day(gateway=kush, day=world.day)


def test_the_daily_job_checks_unchecked_days_and_days_with_open_findings(world):
    assert len(days_to_check(gateway=world.gateway)) == 30
    for offset in range(30):
        CoverageCheck.objects.create(gateway=world.gateway, day=world.day - timedelta(days=offset), outcome="checked")
    assert days_to_check(gateway=world.gateway) == [world.day]
    Discrepancy.objects.create(
        api_key=world.leaky, team=world.team, day=world.day - timedelta(days=4), kind="unrecorded_spend", severity="error"
    )
    assert days_to_check(gateway=world.gateway) == [world.day - timedelta(days=4), world.day]


def test_the_command_checks_a_day_and_refuses_bad_input_in_one_line(world, capsys):
    call_command("check_coverage", "--date", world.day.isoformat(), "--gateway", "openrouter")
    assert "1 key(s) matched, 1 differed" in capsys.readouterr().out
    assert len(findings()) == 1
    for arguments, message in (
        (["--date", "30/11/2026"], "--date must be a day as YYYY-MM-DD"),
        (["--gateway", "nope"], "No gateway with slug 'nope'"),
        (["--date", datetime.now(UTC).date().isoformat()], "not over yet"),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            call_command("check_coverage", *arguments)
        assert "\n" not in str(refused.value)
