"""Every management command answers bad input with one line and a non-zero exit, writing nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AccessToken, ApiKey, Gateway, Membership, Team
from billing.models import Invoice, ModelPrice

pytestmark = pytest.mark.django_db
LONG = "x" * 5000
NUL = "bad\x00name"


@pytest.fixture
def world(db, monkeypatch):
    team = Team.objects.create(name="Acme", slug="acme")
    gateway = Gateway.objects.create(slug="openrouter", name="OpenRouter", kind="openrouter", base_url="http://127.0.0.1:9")
    monkeypatch.setenv("KEY_SECRET", "sk-or-v1-0123456789abcdef")
    return team, gateway


def _counts():
    return (
        Team.objects.count(),
        Gateway.objects.count(),
        ApiKey.objects.count(),
        Membership.objects.count(),
        AccessToken.objects.count(),
        Invoice.objects.count(),
        ModelPrice.objects.count(),
    )


BAD = [
    ("add_team", [LONG]),
    ("add_team", [NUL]),
    ("add_team", ["Fine", "--slug", NUL]),
    ("add_team", ["Fine", "--slug", LONG]),
    ("add_gateway", [NUL, "--kind", "openrouter", "--base-url", "http://127.0.0.1:1"]),
    ("add_gateway", ["gw", "--kind", "openrouter", "--base-url", "http://127.0.0.1:1", "--name", LONG]),
    ("add_gateway", ["gw", "--kind", "openrouter", "--base-url", "http://127.0.0.1:1/" + LONG]),
    ("add_gateway", ["gw", "--kind", "openrouter", "--base-url", "http://127.0.0.1:1", "--rate-limit", "99999999999"]),
    ("add_api_key", ["acme", "openrouter", NUL, "--secret-env", "KEY_SECRET"]),
    ("add_api_key", ["acme", "openrouter", LONG, "--secret-env", "KEY_SECRET"]),
    ("add_api_key", ["acme", "openrouter", "k", "--secret-env", "KEY_SECRET", "--budget", "1e400"]),
    ("add_api_key", [NUL, "openrouter", "k", "--secret-env", "KEY_SECRET"]),
    ("add_member", ["acme", NUL]),
    ("add_member", ["acme", LONG]),
    ("add_member", ["acme", "alice", "--email", NUL]),
    ("create_access_token", ["acme", "--scopes", "read", "--name", NUL]),
    ("create_access_token", ["acme", "--scopes", "read", "--name", LONG]),
    ("create_access_token", [NUL, "--scopes", "read"]),
    ("close_period", ["9999-12"]),
    ("close_period", ["0000-01"]),
    ("close_period", ["2026-13"]),
    ("close_period", [NUL]),
    ("close_period", ["2999-01"]),
    ("finalize_invoices", ["9999-12"]),
    ("finalize_invoices", ["2999-01"]),
    ("finalize_invoices", ["2026-02", "--team", NUL]),
    ("finalize_invoices", ["2026-02", "--override-reason", NUL]),
    ("reconcile", ["--timeout", "-5"]),
]


@pytest.mark.parametrize(("command", "arguments"), BAD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD)])
def test_bad_input_is_one_line_and_writes_nothing(world, command, arguments):
    before = _counts()

    with pytest.raises(CommandError) as refused:
        call_command(command, *arguments, stdout=StringIO(), stderr=StringIO())

    message = str(refused.value)
    assert message and "\n" not in message and "Traceback" not in message
    assert len(message) < 400
    assert _counts() == before


def test_import_prices_refuses_impossible_dates_and_nul_bytes(world, tmp_path):
    header = "gateway,model,prompt,completion,cache_read,cache_write,valid_from"
    for row in ("openrouter,m/a,1,2,,,2026-02-30", "openrouter,m/\x00a,1,2,,,2026-02-01", f"openrouter,{LONG},1,2,,,2026-02-01"):
        path = tmp_path / "prices.csv"
        path.write_text(f"{header}\n{row}\n", encoding="utf-8")
        with pytest.raises(CommandError) as refused:
            call_command("import_prices", str(path), stdout=StringIO(), stderr=StringIO())
        assert "\n" not in str(refused.value)
    assert not ModelPrice.objects.exists()
