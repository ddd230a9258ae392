"""Webhook and mail delivery: real HTTP to a local receiver, retries on 5xx, failures kept in
the delivery log; and the webhook URL rules that keep workers from being pointed inside."""

import logging
import socket

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from werkzeug import Response

from accounts.models import Team
from accounts.webhooks import validate_webhook_url, webhook_host_addresses_allowed
from billing.alerts.delivery import slack_escaped
from billing.alerts.models import AlertDelivery
from billing.alerts.raising import Audience, alert_raise
from tests.api.factories import make_gateways, make_key
from tests.billing.alert_helpers import add_people, eager_tasks, loopback_webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db, httpserver, loopback_webhooks, eager_tasks):
    gateways = make_gateways()
    team = Team.objects.create(name="Ops", slug="ops")
    make_key(team, gateways["openrouter"], "ops-key")
    team.alert_webhook_url = httpserver.url_for("/hook")
    team.save()
    team.people = add_people(team)
    return team


def raise_alert(team, django_capture_on_commit_callbacks, subject="Key <!channel> & co passed 80%"):
    with django_capture_on_commit_callbacks(execute=True):
        return alert_raise(
            kind="key_budget",
            scope="key:1",
            window="2026-03",
            threshold=80,
            subject=subject,
            message="spent 80 USD",
            audience=Audience(emails=[team.people["admin"]], webhook_team=team),
            team=team,
        )


def test_a_5xx_answer_is_retried_until_the_webhook_takes_it(team, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("busy", status=502)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok")

    alert = raise_alert(team, django_capture_on_commit_callbacks)

    webhook = AlertDelivery.objects.get(alert=alert, channel="webhook")
    assert (webhook.status, webhook.attempts, webhook.response_status) == ("sent", 3, 200)
    assert len(httpserver.log) == 3
    # Hostile text cannot mention @channel or forge a link in Slack.
    assert httpserver.log[-1][0].get_json() == {"text": "Key &lt;!channel&gt; &amp; co passed 80%\nspent 80 USD"}
    assert AlertDelivery.objects.get(alert=alert, channel="email").status == "sent"
    assert len(mail.outbox) == 1


def test_a_webhook_that_keeps_failing_is_marked_failed_logged_and_the_mail_still_goes(
    team, httpserver, django_capture_on_commit_callbacks, caplog
):
    httpserver.expect_request("/hook", method="POST").respond_with_response(Response("down", status=500))

    with caplog.at_level(logging.WARNING, logger="billing.alerts.delivery"):
        alert = raise_alert(team, django_capture_on_commit_callbacks)

    webhook = AlertDelivery.objects.get(alert=alert, channel="webhook")
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("failed", 6, "webhook answered 500")
    assert any("failed" in record.getMessage() and record.levelno == logging.ERROR for record in caplog.records)
    assert team.alert_webhook_url not in caplog.text
    assert len(mail.outbox) == 1


def test_a_4xx_answer_fails_at_once_without_retrying(team, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook", method="POST").respond_with_data("gone", status=404)

    alert = raise_alert(team, django_capture_on_commit_callbacks)

    webhook = AlertDelivery.objects.get(alert=alert, channel="webhook")
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("failed", 1, "webhook answered 404")
    assert len(httpserver.log) == 1


def test_the_same_alert_raised_twice_is_delivered_once(team, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    assert raise_alert(team, django_capture_on_commit_callbacks) is not None
    assert raise_alert(team, django_capture_on_commit_callbacks) is None

    assert len(httpserver.log) == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # plain http to a public host
        "https://127.0.0.1/x",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/x",
        "https://localhost/x",
        "https://intranet/x",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https://hooks.example.com/x\nHost: evil",
        "http://10.0.0.1/x",
    ],
)
def test_webhook_urls_that_could_reach_inside_are_refused(url, settings):
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(ValidationError):
        validate_webhook_url(url)


def test_plain_http_to_loopback_is_refused_unless_allowed(settings):
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError):
        validate_webhook_url("http://127.0.0.1:9000/hook")
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = True
    validate_webhook_url("http://127.0.0.1:9000/hook")
    validate_webhook_url("https://hooks.slack.com/services/T000/B000/XXXX")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1"])
def test_a_public_name_that_resolves_inside_is_refused_before_posting(address, settings, monkeypatch):
    # No DNS here: the resolver answers what a rebinding attacker's name server would.
    settings.TALLY_WEBHOOK_ALLOW_LOOPBACK = False
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda *args, **kwargs: [(family, socket.SOCK_STREAM, 6, "", (address, 443))]
    )
    validate_webhook_url("https://hooks.example.com/hook")  # the name alone looks fine
    with pytest.raises(ValidationError, match="not public"):
        webhook_host_addresses_allowed("https://hooks.example.com/hook")


def test_slack_control_sequences_are_escaped():
    assert slack_escaped("<@U123> & <https://x|y>") == "&lt;@U123&gt; &amp; &lt;https://x|y&gt;"
