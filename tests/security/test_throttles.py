"""Throttles and lockouts that hold across web processes: the anonymous API throttle really
applies, password resets are throttled, and the invalid-token counter is shared (Redis)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AccessToken, Team

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_anonymous_api_throttle_applies_even_to_requests_it_will_refuse():
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"]  # "60/minute" unless configured
    allowed = int(rate.split("/")[0])
    client = APIClient()

    statuses = [client.get("/api/v1/keys/").status_code for _ in range(allowed + 2)]

    assert statuses[:allowed] == [401] * allowed
    assert statuses[allowed:] == [429, 429]
    # Signed-in and token callers are not counted as anonymous.
    _, token = AccessToken.issue(team=Team.objects.create(name="T", slug="t"), scopes=["read"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/keys/").status_code == 200


def test_password_reset_requests_are_throttled_per_address_and_per_mailbox():
    User.objects.create_user("ada", email="ada@example.com", password="x-long-password-1")
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_reset"]
    allowed = int(rate.split("/")[0])
    client = Client()

    statuses = [
        client.post("/accounts/password/reset/", {"email": "ada@example.com"}).status_code for _ in range(allowed + 1)
    ]

    assert statuses == [302] * allowed + [429]
    assert len(mail.outbox) == allowed
    refused = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert "Too many requests" in refused.content.decode() and "tally.css" in refused.content.decode()
    # From many addresses, the same mailbox is still protected.
    other = client.post("/accounts/password/reset/", {"email": "ada@example.com"}, REMOTE_ADDR="198.51.100.9")
    assert other.status_code == 429


GUESS_SCRIPT = """
import django
django.setup()
from rest_framework.test import APIClient
client = APIClient(HTTP_HOST="localhost")
client.credentials(HTTP_AUTHORIZATION="Bearer tally_guessed-in-another-process")
print([client.get("/api/v1/keys/", REMOTE_ADDR="203.0.113.50").status_code for _ in range(4)])
"""


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_invalid_token_lockout_is_shared_by_every_web_process(settings):
    """Another process (another web worker) guesses; this one then refuses the same address."""
    settings.TALLY_TOKEN_FAILURES_ALLOWED = 3
    environment = {**os.environ, "TALLY_TOKEN_FAILURES_ALLOWED": "3", "DJANGO_SETTINGS_MODULE": "config.settings"}
    from django.db import connection

    environment["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    result = subprocess.run(
        [sys.executable, "-c", GUESS_SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[401, 401, 401, 429]"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer tally_another-guess")
    assert client.get("/api/v1/keys/", REMOTE_ADDR="203.0.113.50").status_code == 429
    assert client.get("/api/v1/keys/", REMOTE_ADDR="198.51.100.50").status_code == 401


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [("/no-such-page/", 404, "There is nothing here"), ("/api/../admin/x/", 404, "There is nothing here")],
)
def test_error_pages_are_branded(url, status, text):
    response = Client().get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert text in page and "css/tally.css" in page and "Back to Tally" in page


def test_the_403_page_is_branded(client):
    user = User.objects.create_user("staffer", password="x-long-password-1", is_staff=True)
    client.force_login(user)
    response = client.get("/admin/billing/invoice/1/pdf/")
    assert response.status_code == 403
    assert "You may not see this page" in response.content.decode()
