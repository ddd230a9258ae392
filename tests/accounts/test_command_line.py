"""The operator commands as run from a shell: exit status and one-line errors on stderr."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manage(tmp_path_factory):
    """Runs manage.py against a fresh, migrated SQLite database of its own."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    }
    environment.update(TALLY_VAR_DIR=str(tmp_path_factory.mktemp("var")), DEBUG="1")

    def run(*arguments: str, **variables: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=BASE_DIR,
            env={**environment, **variables},
            capture_output=True,
            text=True,
            timeout=120,
        )

    run("migrate", "--noinput", "-v", "0").check_returncode()
    return run


def test_the_commands_set_up_a_team_and_fail_with_one_line_and_status_1(manage) -> None:
    assert manage("add_team", "Research").returncode == 0
    assert manage("add_gateway", "or", "--kind", "openrouter", "--base-url", "https://or.example").returncode == 0

    failures = [
        manage("add_api_key", "nowhere", "or", "Key", "--secret-env", "KEY_SECRET", KEY_SECRET="sk-secret-1"),
        manage("add_gateway", "x", "--kind", "bedrock", "--base-url", "https://x.example"),
        manage("add_api_key", "research", "or", "Key", "--secret-env", "TALLY_TEST_UNSET"),
    ]

    for result in failures:
        assert result.returncode == 1, result
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("CommandError: ")
        assert "sk-secret-1" not in result.stderr
    created = manage("add_api_key", "research", "or", "Key", "--secret-env", "KEY_SECRET", KEY_SECRET="sk-secret-1")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "Created key research-key for team research on gateway or, ending …et-1."
