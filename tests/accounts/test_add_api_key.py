from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from accounts.models import ApiKey
from accounts.services import team_create

pytestmark = pytest.mark.django_db

SECRET = "sk-or-v1-0123456789abcdefWXYZ"


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_SECRET", SECRET)


def test_it_registers_a_key_and_shows_only_its_last_four(run_command, team, gateway) -> None:
    output = run_command(
        "add_api_key", "research", "openrouter", "Batch jobs", "--secret-env", "GATEWAY_SECRET",
        "--byok", "--budget", "250.50",
    )  # fmt: skip

    api_key = ApiKey.objects.get()
    assert (api_key.team, api_key.gateway, api_key.name) == (team, gateway, "Batch jobs")
    assert api_key.slug == "research-batch-jobs"
    assert api_key.is_byok is True
    assert api_key.monthly_budget == Decimal("250.50")
    assert api_key.secret() == SECRET
    assert api_key.last_four == "WXYZ"
    assert output == (
        "Created key research-batch-jobs for team research on gateway openrouter, "
        "ending …WXYZ (BYOK, budget 250.50 USD/month).\n"
    )
    assert SECRET[:-4] not in output


def test_it_takes_an_explicit_slug_and_defaults_to_no_byok_and_no_budget(run_command, team, gateway) -> None:
    run_command("add_api_key", "research", "openrouter", "Batch", "--slug", "batch", "--secret-env", "GATEWAY_SECRET")

    api_key = ApiKey.objects.get()
    assert (api_key.slug, api_key.is_byok, api_key.monthly_budget) == ("batch", False, None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nowhere", "openrouter", "Key", "--secret-env", "GATEWAY_SECRET"], "No team with slug 'nowhere'"),
        (["research", "nowhere", "Key", "--secret-env", "GATEWAY_SECRET"], "No gateway with slug 'nowhere'"),
        (["research", "openrouter", "Key", "--secret-env", "TALLY_TEST_UNSET"], "TALLY_TEST_UNSET is not set"),
        (["research", "openrouter", "Key", "--secret-env", "EMPTY_SECRET"], "EMPTY_SECRET is not set or is empty"),
        (["research", "openrouter", "Key", "--secret-env", "GATEWAY_SECRET", "--budget", "lots"], "--budget"),
        (["research", "openrouter", "Key", "--secret-env", "GATEWAY_SECRET", "--budget", "-5"], "monthly_budget"),
        (["research", "openrouter", "Key", "--secret-env", "GATEWAY_SECRET", "--budget", "1.005"], "monthly_budget"),
        (["research", "openrouter", "  ", "--secret-env", "GATEWAY_SECRET"], "needs a name"),
        (["research", "openrouter", "Key", "--slug", "not a slug", "--secret-env", "GATEWAY_SECRET"], "slug"),
    ],
)
def test_it_rejects_bad_input_with_one_line_and_creates_nothing(
    run_command, team, gateway, monkeypatch, arguments, message
) -> None:
    monkeypatch.setenv("EMPTY_SECRET", "  ")

    with pytest.raises(CommandError) as error:
        run_command("add_api_key", *arguments)

    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert SECRET not in str(error.value)
    assert not ApiKey.objects.exists()


def test_it_refuses_a_key_already_registered_on_the_gateway_without_revealing_it(
    run_command, team, gateway
) -> None:
    run_command("add_api_key", "research", "openrouter", "First", "--secret-env", "GATEWAY_SECRET")
    team_create(name="Other team", slug="other")

    with pytest.raises(CommandError) as error:
        run_command("add_api_key", "other", "openrouter", "Second", "--secret-env", "GATEWAY_SECRET")

    assert str(error.value) == "This key is already registered on gateway openrouter."
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["First"]


def test_it_refuses_a_slug_that_is_taken(run_command, team, gateway, monkeypatch) -> None:
    run_command("add_api_key", "research", "openrouter", "Key", "--secret-env", "GATEWAY_SECRET")
    monkeypatch.setenv("OTHER_SECRET", "sk-or-v1-another-secret-1111")

    with pytest.raises(CommandError) as error:
        run_command("add_api_key", "research", "openrouter", "Key", "--secret-env", "OTHER_SECRET")

    assert "slug" in str(error.value).lower()
    assert "sk-or-v1-another" not in str(error.value)
    assert ApiKey.objects.count() == 1


def test_it_records_how_litellm_and_openrouter_broadcast_name_the_key(run_command, team, gateway) -> None:
    run_command(
        "add_api_key", "research", "openrouter", "Agents", "--secret-env", "GATEWAY_SECRET",
        "--litellm-model", "gpt-4o-mini", "--litellm-model", " claude-haiku ",
        "--litellm-api-base", "https://openrouter.ai/api/v1", "--broadcast-key-name", "agents-prod",
    )  # fmt: skip

    api_key = ApiKey.objects.get()
    assert api_key.litellm_models == ["gpt-4o-mini", "claude-haiku"]
    assert (api_key.litellm_api_base, api_key.broadcast_key_name) == ("https://openrouter.ai/api/v1", "agents-prod")
