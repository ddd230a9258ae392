"""Settings refuse to start without secrets in production and keep generated ones in development."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SECRETS = "from django.conf import settings; print(settings.SECRET_KEY); print(settings.TALLY_SECRETS_KEYS[0])"


def import_settings(var_dir: Path, print_code: str = PRINT_SECRETS, **variables: str) -> subprocess.CompletedProcess:
    """Imports config.settings in a fresh interpreter with only the given Tally variables set."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key.removesuffix("_FILE") not in ("SECRET_KEY", "TALLY_SECRETS_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL")
    }
    environment.update(TALLY_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {print_code}"],
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


def test_an_unknown_boolean_value_stops_it_instead_of_meaning_false(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="1", SESSION_COOKIE_SECURE="ture")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SESSION_COOKIE_SECURE must be one of 1, true, yes, on, 0, false, no, off; not 'ture'." in result.stderr


def test_boolean_values_are_read_in_any_case_and_with_spaces(tmp_path: Path) -> None:
    result = import_settings(
        tmp_path,
        "from django.conf import settings; print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)",
        DEBUG="1",
        SESSION_COOKIE_SECURE=" YES ",
        CSRF_COOKIE_SECURE="On",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_a_bad_number_names_the_variable(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="1", TALLY_RECONCILE_BATCH_SIZE="two hundred")

    assert result.returncode != 0
    assert "TALLY_RECONCILE_BATCH_SIZE must be a whole number; not 'two hundred'." in result.stderr


def test_secrets_can_be_read_from_files_named_by_the_file_variables(tmp_path: Path) -> None:
    key = fernet_key()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "secret_key").write_text("f" * 60 + "\n")
    (tmp_path / "run" / "secrets_key").write_text(key + "\n")

    result = import_settings(
        tmp_path / "var",
        DEBUG="0",
        SECRET_KEY_FILE=str(tmp_path / "run" / "secret_key"),
        TALLY_SECRETS_KEY_FILE=str(tmp_path / "run" / "secrets_key"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["f" * 60, key]


def test_the_database_url_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "database_url").write_text("postgres://tally:s3cret@db.internal:5432/tally\n")
    environment = {**os.environ, "TALLY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    environment.pop("DATABASE_URL", None)
    environment["DATABASE_URL_FILE"] = str(tmp_path / "database_url")

    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; d = settings.DATABASES['default']; print(d['HOST'], d['PASSWORD'])"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["db.internal", "s3cret"]


def test_a_variable_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("f" * 60)

    result = import_settings(tmp_path / "var", DEBUG="1", SECRET_KEY="s" * 60, SECRET_KEY_FILE=str(tmp_path / "secret_key"))

    assert result.returncode != 0
    assert "Set SECRET_KEY or SECRET_KEY_FILE, not both." in result.stderr


def test_an_unreadable_secret_file_stops_it_with_its_name(tmp_path: Path) -> None:
    result = import_settings(tmp_path, DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "nowhere"), TALLY_SECRETS_KEY=fernet_key())

    assert result.returncode != 0
    assert f"SECRET_KEY_FILE: cannot read {tmp_path / 'nowhere'}: No such file or directory." in result.stderr


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
