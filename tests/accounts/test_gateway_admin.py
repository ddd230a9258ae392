"""The admin for gateways and keys: lookup paths, KushRouter's default discount, and the hash a
gateway reports for a key (shown, settable, resettable)."""

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from accounts.services import api_key_create, gateway_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_key(team):
    gateway = gateway_create(slug="fastrouter", kind="fastrouter", base_url="https://fast.example")
    key = api_key_create(team=team, gateway=gateway, name="prod", secret="sk-fr-0123456789abcdef")
    ApiKey.objects.filter(pk=key.pk).update(gateway_key_hash="frk_learned_hash")
    return ApiKey.objects.get(pk=key.pk)


def test_the_key_page_shows_the_pinned_hash(admin_client, fast_key):
    page = admin_client.get(reverse("admin:accounts_apikey_change", args=[fast_key.pk]))
    assert page.status_code == 200
    assert b"frk_learned_hash" in page.content


def test_the_pinned_hash_can_be_forgotten_to_learn_it_again(admin_client, fast_key):
    answer = admin_client.post(
        reverse("admin:accounts_apikey_changelist"),
        {"action": "forget_gateway_key_hash", "_selected_action": [fast_key.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    fast_key.refresh_from_db()
    assert fast_key.gateway_key_hash == ""


def test_a_new_kushrouter_gateway_form_starts_at_thirty_percent_off(admin_client):
    page = admin_client.get(reverse("admin:accounts_gateway_add") + "?kind=kushrouter")
    assert page.status_code == 200
    assert b'name="discount" value="0.30"' in page.content


def test_the_gateway_form_has_the_lookup_path(admin_client):
    page = admin_client.get(reverse("admin:accounts_gateway_add"))
    assert b'name="lookup_path"' in page.content
