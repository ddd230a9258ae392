"""Fixtures for the accounts tests: running operator commands as an operator would."""

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Gateway, Team
from accounts.services import gateway_create, team_create

RunCommand = Callable[..., str]


@pytest.fixture
def run_command() -> RunCommand:
    """Runs a management command with its command-line arguments and returns what it printed."""

    def run(name: str, *arguments: str) -> str:
        output = StringIO()
        call_command(name, *arguments, stdout=output, stderr=output)
        return output.getvalue()

    return run


@pytest.fixture
def team(db) -> Team:
    return team_create(name="Research", slug="research")


@pytest.fixture
def gateway(db) -> Gateway:
    return gateway_create(slug="openrouter", kind="openrouter", base_url="https://openrouter.example")
