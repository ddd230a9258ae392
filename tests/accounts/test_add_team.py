from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from accounts.models import Team

pytestmark = pytest.mark.django_db


def test_it_creates_a_team_with_a_slug_made_from_its_name(run_command) -> None:
    output = run_command("add_team", "Applied Research")

    team = Team.objects.get()
    assert (team.name, team.slug) == ("Applied Research", "applied-research")
    assert output == "Created team applied-research (Applied Research).\n"


def test_it_takes_an_explicit_slug(run_command) -> None:
    run_command("add_team", "Applied Research", "--slug", "lab")

    assert Team.objects.get().slug == "lab"


def test_it_refuses_a_slug_that_is_taken(run_command, team) -> None:
    with pytest.raises(CommandError) as error:
        run_command("add_team", "Another", "--slug", team.slug)

    assert "slug" in str(error.value).lower() and "\n" not in str(error.value)
    assert Team.objects.count() == 1


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_it_refuses_a_name_it_cannot_use(run_command, name: str) -> None:
    with pytest.raises(CommandError):
        run_command("add_team", name)

    assert not Team.objects.exists()


def test_it_takes_who_the_invoices_are_addressed_to(run_command) -> None:
    run_command(
        "add_team", "Applied Research", "--bill-to-name", "Applied Research Ltd", "--bill-to-address", r"1 Dock St\nLeith"
    )

    team = Team.objects.get()
    assert (team.bill_to_name, team.bill_to_address) == ("Applied Research Ltd", "1 Dock St\nLeith")
def test_it_takes_the_alert_settings_with_the_webhook_from_the_environment(run_command, monkeypatch) -> None:
    monkeypatch.setenv("TEAM_WEBHOOK", "https://hooks.slack.com/services/T0/B0/secret")

    run_command(
        "add_team", "Lab", "--budget", "2000.50", "--webhook-url-env", "TEAM_WEBHOOK", "--digest",
        "--dispute-rate-threshold", "0.25",
    )  # fmt: skip

    team = Team.objects.get()
    assert team.monthly_budget == Decimal("2000.50")
    assert team.alert_webhook_url == "https://hooks.slack.com/services/T0/B0/secret"
    assert team.digest_opt_in is True
    assert team.dispute_rate_threshold == Decimal("0.25")


@pytest.mark.parametrize(
    ("webhook", "arguments", "message"),
    [
        ("http://hooks.example.com/x", [], "https"),
        ("https://169.254.169.254/latest", [], "public"),
        ("https://hooks.example.com/x", ["--dispute-rate-threshold", "1.5"], "dispute_rate_threshold"),
        ("https://hooks.example.com/x", ["--budget", "-1"], "monthly_budget"),
    ],
)
def test_it_refuses_bad_alert_settings_and_creates_nothing(run_command, monkeypatch, settings, webhook, arguments, message):
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = False
    monkeypatch.setenv("TEAM_WEBHOOK", webhook)
    with pytest.raises(CommandError, match=message):
        run_command("add_team", "Lab", "--webhook-url-env", "TEAM_WEBHOOK", *arguments)

    assert not Team.objects.exists()
