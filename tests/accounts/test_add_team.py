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
