"""Production settings (DEBUG=0) pass `manage.py check --deploy` with no warning, and the site
really sends what the check looks for: HTTPS redirect, HSTS, secure cookies, secure headers.
Each runs in a fresh process, since settings are read once at start-up."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
HOST = "tally.example.com"

HEADERS_SCRIPT = """
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)  # as a deployment does: pages need the manifest
client = Client(HTTP_HOST="tally.example.com")
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "secure_status": secure.status_code,
    "headers": dict(secure.headers),
    "csrf_cookie": secure.cookies["csrftoken"].output(),
}))
"""


def production_environment(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "production-secret-" + "x9" * 30,
        "TALLY_SECRETS_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": HOST,
        "TALLY_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }


def run(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_environment(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_fail_on_an_insecure_setting(tmp_path):
    """The check above can fail: turn one protection off and it does."""
    environment = {**production_environment(tmp_path), "SESSION_COOKIE_SECURE": "0"}
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], environment)
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout


def test_check_deploy_warns_when_reset_links_would_print_to_the_console(tmp_path):
    environment = {**production_environment(tmp_path), "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], environment)
    assert result.returncode != 0
    assert "tally.W001" in result.stderr + result.stdout


def test_a_process_started_without_debug_never_shows_the_technical_error_page(tmp_path):
    environment = production_environment(tmp_path)
    del environment["DEBUG"]  # not set at all: the default must be the safe one
    environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/unreachable"  # every query fails: a 500
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.test import Client\n"
        "from django.core.management import call_command\n"
        "call_command('collectstatic', interactive=False, verbosity=0)\n"
        "response = Client(HTTP_HOST='tally.example.com', raise_request_exception=False).get("
        "'/api/v1/keys/', secure=True, HTTP_AUTHORIZATION='Bearer tally_x')\n"
        "print(settings.DEBUG, response.status_code); print(response.content.decode())\n"
    )
    result = run([sys.executable, "-c", script], environment)
    assert result.returncode == 0, result.stderr
    first, page = result.stdout.split("\n", 1)
    assert first == "False 500"
    assert "Traceback" not in page and "OperationalError" not in page and "settings" not in page.lower()
    assert "Something went wrong on our side" in page and "css/tally." in page


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    environment = production_environment(tmp_path)
    del environment["SECRET_KEY"]
    result = run([sys.executable, "manage.py", "check"], environment)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.fixture
def served(tmp_path) -> dict:
    result = run([sys.executable, "-c", HEADERS_SCRIPT], production_environment(tmp_path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_secure_headers(served):
    assert served["plain_status"] == 301
    assert served["plain_location"] == f"https://{HOST}/accounts/login/"
    assert served["secure_status"] == 200
    headers = served["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Secure" in served["csrf_cookie"]
