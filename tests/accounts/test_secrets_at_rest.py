"""Gateway secrets are stored encrypted and access tokens only hashed: read back the raw rows."""

import pytest
from django.db import connection

from accounts.models import AccessToken, ApiKey, Gateway
from accounts.secrets import hash_access_token
from accounts.services import access_token_create, api_key_create, gateway_create

pytestmark = pytest.mark.django_db

SECRET = "sk-kr-live-6f1d2c3b4a5e6f7a8b9cZZ42"


def raw_row(model, primary_key: int) -> list[str]:
    """Every column of one row, as the database holds it."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [primary_key])  # noqa: S608 (table name from Django)
        return [str(value) for value in cursor.fetchone()]


def test_a_gateway_key_secret_is_never_stored_in_plaintext_and_still_decrypts(team, gateway) -> None:
    api_key = api_key_create(team=team, gateway=gateway, name="Key", secret=SECRET)

    row = raw_row(ApiKey, api_key.pk)
    assert not any(SECRET in value for value in row)
    assert not any(SECRET[:-4] in value for value in row)
    assert ApiKey.objects.get(pk=api_key.pk).secret() == SECRET


def test_a_gateway_lookup_secret_is_never_stored_in_plaintext_and_still_decrypts(db) -> None:
    gateway = gateway_create(slug="kush", kind="kushrouter", base_url="https://kush.example", lookup_secret=SECRET)

    assert not any(SECRET in value for value in raw_row(Gateway, gateway.pk))
    assert Gateway.objects.get(pk=gateway.pk).lookup_secret() == SECRET


def test_the_same_secret_encrypts_differently_each_time(team, gateway) -> None:
    other_gateway = gateway_create(slug="other", kind="openrouter", base_url="https://other.example")
    first = api_key_create(team=team, gateway=gateway, name="First", secret=SECRET)
    second = api_key_create(team=team, gateway=other_gateway, name="Second", secret=SECRET)

    assert first.secret_encrypted != second.secret_encrypted


def test_an_access_token_is_stored_only_hashed(team) -> None:
    token, plaintext = access_token_create(team=team, scopes=["read"])

    row = raw_row(AccessToken, token.pk)
    assert not any(plaintext in value for value in row)
    assert hash_access_token(plaintext) in row
    assert AccessToken.objects.get(token_hash=hash_access_token(plaintext)) == token
