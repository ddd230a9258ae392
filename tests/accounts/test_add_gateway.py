from decimal import Decimal

import pytest
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import Gateway

pytestmark = pytest.mark.django_db


def test_it_creates_a_gateway_with_every_setting(run_command, monkeypatch) -> None:
    monkeypatch.setenv("LOOKUP_SECRET", "sk-lookup-0123456789")

    output = run_command(
        "add_gateway", "kush", "--kind", "kushrouter", "--base-url", "https://api.kush.example/",
        "--name", "KushRouter EU", "--grace-seconds", "120", "--retention-days", "10",
        "--concurrency", "4", "--rate-limit", "20", "--discount", "0.30",
        "--lookup-secret-env", "LOOKUP_SECRET",
    )  # fmt: skip

    gateway = Gateway.objects.get()
    assert (gateway.slug, gateway.kind, gateway.name) == ("kush", "kushrouter", "KushRouter EU")
    assert gateway.base_url == "https://api.kush.example"
    assert (gateway.grace_seconds, gateway.retention_days) == (120, 10)
    assert (gateway.concurrency, gateway.rate_limit_per_second) == (4, 20)
    assert gateway.discount == Decimal("0.30")
    assert gateway.lookup_secret() == "sk-lookup-0123456789"
    assert output.startswith("Created gateway kush (KushRouter) at https://api.kush.example")
    assert "sk-lookup" not in output


def test_it_stores_the_lookup_secret_encrypted(run_command, monkeypatch) -> None:
    monkeypatch.setenv("LOOKUP_SECRET", "sk-lookup-0123456789")
    run_command("add_gateway", "or", "--kind", "openrouter", "--base-url", "https://or.example", "--lookup-secret-env",
                "LOOKUP_SECRET")  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("SELECT lookup_secret_encrypted FROM accounts_gateway")
        [(stored,)] = cursor.fetchall()
    assert stored and "sk-lookup-0123456789" not in stored


def test_it_gives_kushrouter_its_documented_retention_and_others_none(run_command) -> None:
    run_command("add_gateway", "kush", "--kind", "kushrouter", "--base-url", "https://kush.example")
    run_command("add_gateway", "fast", "--kind", "fastrouter", "--base-url", "https://fast.example")

    assert Gateway.objects.get(slug="kush").retention_days == 7
    assert Gateway.objects.get(slug="fast").retention_days is None
    assert Gateway.objects.get(slug="fast").discount == Decimal("0")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--kind", "bedrock"], "Unknown gateway kind 'bedrock'"),
        (["--base-url", "not a url"], "base_url"),
        (["--base-url", "ftp//nowhere"], "base_url"),
        (["--discount", "1.5"], "discount"),
        (["--discount", "-0.1"], "discount"),
        (["--discount", "thirty"], "--discount must be a number"),
        (["--discount", "NaN"], "discount"),
        (["--concurrency", "0"], "concurrency"),
        (["--grace-seconds", "-1"], "grace_seconds"),
        (["--retention-days", "-7"], "retention_days"),
        (["--rate-limit", "-2"], "rate_limit_per_second"),
        (["--lookup-secret-env", "TALLY_TEST_UNSET_VARIABLE"], "TALLY_TEST_UNSET_VARIABLE is not set"),
    ],
)
def test_it_rejects_bad_input_with_one_line_and_creates_nothing(run_command, arguments, message) -> None:
    defaults = {"--kind": "openrouter", "--base-url": "https://openrouter.example"}
    given = dict(zip(arguments[::2], arguments[1::2], strict=True))
    options = [item for option, value in {**defaults, **given}.items() for item in (option, value)]

    with pytest.raises(CommandError) as error:
        run_command("add_gateway", "openrouter", *options)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert not Gateway.objects.exists()


def test_it_refuses_a_slug_that_is_taken(run_command, gateway) -> None:
    with pytest.raises(CommandError):
        run_command("add_gateway", gateway.slug, "--kind", "fastrouter", "--base-url", "https://fast.example")

    assert Gateway.objects.get().kind == "openrouter"


def test_a_new_kushrouter_gateway_sells_at_thirty_percent_off_unless_told_otherwise(run_command) -> None:
    run_command("add_gateway", "kush", "--kind", "kushrouter", "--base-url", "https://kush.example")
    run_command("add_gateway", "kush-deal", "--kind", "kushrouter", "--base-url", "https://kush.example",
                "--discount", "0.25")  # fmt: skip

    assert Gateway.objects.get(slug="kush").discount == Decimal("0.30")
    assert Gateway.objects.get(slug="kush-deal").discount == Decimal("0.25")


def test_a_compatible_gateway_gets_its_lookup_path(run_command) -> None:
    output = run_command("add_gateway", "compat", "--kind", "openrouter", "--base-url", "https://compat.example",
                         "--lookup-path", "/v1/generation")  # fmt: skip
    run_command("add_gateway", "or", "--kind", "openrouter", "--base-url", "https://openrouter.ai")

    assert Gateway.objects.get(slug="compat").lookup_path == "/v1/generation"
    assert Gateway.objects.get(slug="or").lookup_path == ""
    assert "lookup path /v1/generation" in output


def test_a_lookup_path_must_be_a_path(run_command) -> None:
    with pytest.raises(CommandError, match="lookup_path"):
        run_command("add_gateway", "bad", "--kind", "openrouter", "--base-url", "https://x.example",
                    "--lookup-path", "https://elsewhere.example/v1")  # fmt: skip
    assert not Gateway.objects.exists()
