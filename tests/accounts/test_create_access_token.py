import pytest
from django.core.management.base import CommandError
from rest_framework.test import APIRequestFactory

from accounts.authentication import AccessTokenAuthentication
from accounts.models import AccessToken

pytestmark = pytest.mark.django_db


def test_it_prints_a_working_token_alone_on_the_last_line(run_command, team) -> None:
    output = run_command("create_access_token", "research", "--scopes", "ingest,read", "--name", "ingest service")

    plaintext = output.splitlines()[-1]
    token = AccessToken.objects.get()
    assert (token.team, token.name, token.scope_list) == (team, "ingest service", ["ingest", "read"])
    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    user, authenticated_token = AccessTokenAuthentication().authenticate(request)
    assert (user.team, authenticated_token) == (team, token)
    assert output.count(plaintext) == 1


def test_it_accepts_a_single_scope(run_command, team) -> None:
    run_command("create_access_token", "research", "--scopes", "read")

    assert AccessToken.objects.get().scope_list == ["read"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nowhere", "--scopes", "read"], "No team with slug 'nowhere'"),
        (["research", "--scopes", "read,admin"], "Unknown scope admin"),
        (["research", "--scopes", ","], "at least one scope"),
    ],
)
def test_it_rejects_bad_input_with_one_line_and_creates_nothing(run_command, team, arguments, message) -> None:
    with pytest.raises(CommandError) as error:
        run_command("create_access_token", *arguments)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not AccessToken.objects.exists()
