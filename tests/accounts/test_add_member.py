import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management.base import CommandError
from django.test import RequestFactory

from accounts.models import Membership

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


def test_it_creates_the_user_with_a_password_from_the_environment(run_command, team, monkeypatch) -> None:
    monkeypatch.setenv("ALICE_PASSWORD", PASSWORD)

    output = run_command(
        "add_member", "research", "alice", "--role", "admin", "--email", "alice@example.org",
        "--password-env", "ALICE_PASSWORD",
    )  # fmt: skip

    membership = Membership.objects.get()
    assert (membership.user.username, membership.team, membership.role) == ("alice", team, "admin")
    assert membership.user.email == "alice@example.org"
    login_request = RequestFactory().post("/accounts/login/")
    assert authenticate(login_request, username="alice", password=PASSWORD) == membership.user
    assert output == "Added new user alice in team research as admin.\n"
    assert PASSWORD not in output


def test_it_adds_an_existing_user_without_touching_their_password(run_command, team) -> None:
    user = get_user_model().objects.create_user("bob", password=PASSWORD)

    output = run_command("add_member", "research", "bob")

    assert Membership.objects.get(user=user).role == "member"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert output == "Added user bob in team research as member.\n"


def test_a_new_user_without_a_password_cannot_log_in(run_command, team) -> None:
    run_command("add_member", "research", "carol", "--role", "viewer")

    assert get_user_model().objects.get(username="carol").has_usable_password() is False


def test_it_changes_the_role_of_an_existing_member(run_command, team) -> None:
    run_command("add_member", "research", "dave", "--role", "viewer")

    output = run_command("add_member", "research", "dave", "--role", "admin")

    assert list(Membership.objects.values_list("role", flat=True)) == ["admin"]
    assert output == "Updated user dave in team research as admin.\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nowhere", "erin"], "No team with slug 'nowhere'"),
        (["research", "erin", "--role", "owner"], "Unknown role 'owner'"),
        (["research", "erin", "--password-env", "TALLY_TEST_UNSET"], "TALLY_TEST_UNSET is not set"),
        (["research", "erin", "--password-env", "WEAK_PASSWORD"], "too common"),
        (["research", "erin", "--email", "not-an-email"], "email"),
        (["research", "erin with spaces"], "username"),
    ],
)
def test_it_rejects_bad_input_with_one_line_and_creates_nothing(
    run_command, team, monkeypatch, arguments, message
) -> None:
    monkeypatch.setenv("WEAK_PASSWORD", "password")

    with pytest.raises(CommandError) as error:
        run_command("add_member", *arguments)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not get_user_model().objects.exists()
    assert not Membership.objects.exists()
