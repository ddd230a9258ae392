"""A team's alert webhook URL is a secret: stored encrypted, never shown back in the admin, set,
kept or removed there, and validated like any webhook."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Team
from accounts.services import team_create
from tests.accounts.test_secrets_at_rest import raw_row

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.slack.com/services/T000/B000/s3cr3tT0ken"


def form_data(team: Team, **changes) -> dict:
    data = {
        "name": team.name,
        "slug": team.slug,
        "invoice_markup": "0",
        "created_at_0": team.created_at.strftime("%Y-%m-%d"),
        "created_at_1": team.created_at.strftime("%H:%M:%S"),
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "alert_webhook_url": "",
    }
    return {**data, **changes}


def test_the_url_is_stored_encrypted_and_still_posts_where_it_should():
    team = team_create(name="Ops", alert_webhook_url=HOOK)

    assert not any("s3cr3tT0ken" in value or "hooks.slack.com" in value for value in raw_row(Team, team.pk))
    stored = Team.objects.get(pk=team.pk)
    assert (stored.alert_webhook_url, stored.alert_webhook_host) == (HOOK, "hooks.slack.com")


def test_the_admin_never_shows_it_keeps_it_when_left_empty_and_can_remove_it(admin_client):
    team = team_create(name="Ops", alert_webhook_url=HOOK)
    url = reverse("admin:accounts_team_change", args=[team.pk])

    page = admin_client.get(url).content.decode()
    assert "s3cr3tT0ken" not in page and "posting to hooks.slack.com" in page

    assert admin_client.post(url, form_data(team)).status_code == 302
    assert Team.objects.get(pk=team.pk).alert_webhook_url == HOOK

    assert admin_client.post(url, form_data(team, remove_alert_webhook="on")).status_code == 302
    assert Team.objects.get(pk=team.pk).alert_webhook_encrypted == ""


def test_the_admin_refuses_a_url_that_is_not_a_public_https_webhook_and_changes_nothing(admin_client):
    team = team_create(name="Ops", alert_webhook_url=HOOK)
    url = reverse("admin:accounts_team_change", args=[team.pk])

    answer = admin_client.post(url, form_data(team, alert_webhook_url="http://169.254.169.254/latest"))

    assert answer.status_code == 200 and "webhook" in answer.content.decode().lower()
    assert Team.objects.get(pk=team.pk).alert_webhook_url == HOOK


def test_an_overlong_url_is_refused():
    with pytest.raises(ValidationError, match="at most 2000"):
        team_create(name="Ops", alert_webhook_url=HOOK + "x" * 2000)
