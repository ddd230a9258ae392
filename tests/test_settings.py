"""Settings refuse to start without secrets in production and keep generated ones in development."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SECRETS = "from django.conf import settings; print(settings.SECRET_KEY); print(settings.TALLY_SECRETS_KEYS[0])"


def import_settings(var_dir: Path, **variables: str) -> subprocess.CompletedProcess:
    """Imports config.settings in a fresh interpreter with only the given Tally variables set."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "TALLY_SECRETS_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL")
    }
    environment.update(TALLY_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {PRINT_SECRETS}"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_a_missing_secret_key_stops_it_with_a_clear_message(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off." in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_without_debug_a_missing_secrets_key_stops_it_too(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="0", SECRET_KEY="a-production-secret-key-" + "x" * 40)

    assert result.returncode != 0
    assert "ImproperlyConfigured: TALLY_SECRETS_KEY must be set when DEBUG is off." in result.stderr


def test_with_debug_secrets_are_generated_once_under_the_var_dir_and_reused(tmp_path: Path) -> None:
    first = import_settings(tmp_path, DEBUG="1")
    second = import_settings(tmp_path, DEBUG="1")

    assert first.returncode == 0, first.stderr
    secret_key, secrets_key = first.stdout.split()
    assert len(secret_key) >= 50
    assert second.stdout == first.stdout
    assert (tmp_path / "secret_key").read_text().strip() == secret_key
    assert (tmp_path / "secrets_key").read_text().strip() == secrets_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secrets_from_the_environment_win_and_nothing_is_written(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    fernet_key = Fernet.generate_key().decode()

    result = import_settings(tmp_path, DEBUG="0", SECRET_KEY="s" * 60, TALLY_SECRETS_KEY=fernet_key)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["s" * 60, fernet_key]
    assert not (tmp_path / "secret_key").exists()
