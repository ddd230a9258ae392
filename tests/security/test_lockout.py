"""Guessing is stopped: repeated failed logins lock the username out from that address
(django-axes, on the login page and the admin login alike), and an address that sends too many
invalid access tokens is refused token authentication for a while."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AccessToken, Team

pytestmark = pytest.mark.django_db

PASSWORD = "quiet-harbour-4417"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only


@pytest.fixture
def user():
    return User.objects.create_user("grace", password=PASSWORD, is_staff=True, is_superuser=True)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_repeated_failed_logins_lock_the_account_out_even_with_the_right_password(client, user, login_url):
    statuses = [
        client.post(login_url, {"username": "grace", "password": "not-it"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    response = client.post(login_url, {"username": "grace", "password": PASSWORD})

    assert response.status_code == 429
    assert not signed_in(client)


def test_failed_logins_below_the_limit_do_not_lock_anyone_out(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "grace", "password": "not-it"})

    response = client.post("/accounts/login/", {"username": "grace", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in(client)


def test_the_lockout_is_per_username_so_others_can_still_sign_in(client, user):
    User.objects.create_user("hopper", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "grace", "password": "not-it"})

    response = client.post("/accounts/login/", {"username": "hopper", "password": PASSWORD})

    assert response.status_code == 302


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_address_sending_invalid_tokens_is_refused_for_a_while(settings):
    settings.TALLY_TOKEN_FAILURES_ALLOWED = 5
    _, valid = AccessToken.issue(team=Team.objects.create(name="T", slug="t"), scopes=["read"])
    assert bearer(valid).get("/api/v1/keys/").status_code == 200

    statuses = [bearer(f"tally_guess{number}").get("/api/v1/keys/").status_code for number in range(8)]

    assert statuses == [401] * 5 + [429] * 3
    refused = bearer("tally_one-more-guess").get("/api/v1/keys/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_valid_token_is_never_locked_out_by_someone_else_guessing_at_its_address(settings):
    settings.TALLY_TOKEN_FAILURES_ALLOWED = 3
    _, valid = AccessToken.issue(team=Team.objects.create(name="T", slug="t"), scopes=["read"])
    for number in range(6):
        bearer(f"tally_guess{number}").get("/api/v1/keys/", REMOTE_ADDR="203.0.113.7")

    assert bearer(valid).get("/api/v1/keys/", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert bearer("tally_guess-again").get("/api/v1/keys/", REMOTE_ADDR="203.0.113.7").status_code == 429


def test_invalid_tokens_from_one_address_do_not_lock_out_another(settings):
    settings.TALLY_TOKEN_FAILURES_ALLOWED = 3
    _, valid = AccessToken.issue(team=Team.objects.create(name="T", slug="t"), scopes=["read"])
    for number in range(5):
        bearer(f"tally_guess{number}").get("/api/v1/keys/", REMOTE_ADDR="203.0.113.7")

    assert bearer(valid).get("/api/v1/keys/", REMOTE_ADDR="198.51.100.2").status_code == 200
    assert bearer("tally_other").get("/api/v1/keys/", REMOTE_ADDR="198.51.100.2").status_code == 401
    assert bearer("tally_other").get("/api/v1/keys/", REMOTE_ADDR="203.0.113.7").status_code == 429
