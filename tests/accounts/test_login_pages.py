"""Signing in and out, and the password reset and change flows."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.billing.spend_data import PASSWORD, user_create

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lantern-orchard-9182"


@pytest.fixture
def user():
    return user_create("grace", email="grace@example.com", password=PASSWORD)


def test_it_shows_a_labelled_login_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="id_username">' in page and '<label for="id_password">' in page
    assert 'href="/static/css/tally.css"' in page
    assert reverse("password_reset") in page


def test_it_signs_in_and_lands_on_the_spend_page(client, user):
    response = client.post(reverse("login"), {"username": "grace", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("spend:index")
    assert client.get(reverse("spend:index")).status_code == 200


def test_it_follows_next_after_signing_in(client, user):
    response = client.post(reverse("login"), {"username": "grace", "password": PASSWORD, "next": "/spend/?month=2020-01"})
    assert response["Location"] == "/spend/?month=2020-01"


def test_it_says_so_when_the_password_is_wrong(client, user):
    response = client.post(reverse("login"), {"username": "grace", "password": "not-it"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_signs_out_with_a_post_only(client, user):
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    page = client.get(reverse("spend:index")).content.decode()
    assert f'action="{reverse("logout")}"' in page and 'method="post"' in page
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("spend:index")).status_code == 302


def test_it_sends_a_signed_in_user_from_the_login_page_to_spend(client, user):
    client.force_login(user)
    response = client.get(reverse("login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("spend:index")


def test_it_redirects_the_home_page_to_spend(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("spend:index")


def test_it_resets_a_forgotten_password_through_the_emailed_link(client, user):
    response = client.post(reverse("password_reset"), {"email": "grace@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(response["Location"]).content.decode()

    [email] = mail.outbox
    assert email.to == ["grace@example.com"]
    assert email.subject == "Reset your Tally password"
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", email.body).group(1)

    # Django swaps the token for a session key and redirects to the form that sets the password.
    form_url = client.get(link)["Location"]
    form = client.get(form_url)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password_reset_complete")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_it_sends_nothing_for_an_unknown_address_and_says_the_same(client, user):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_it_changes_the_password_of_a_signed_in_user(client, user):
    assert client.get(reverse("password_change")).status_code == 302
    client.force_login(user)
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
