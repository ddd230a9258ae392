import pytest
from django.core.management import get_commands, load_command_class

OPERATOR_COMMANDS = ["add_team", "add_gateway", "add_api_key", "add_member", "create_access_token", "import_prices"]


@pytest.mark.parametrize("name", [*OPERATOR_COMMANDS, "run_tally"])
def test_every_operator_command_explains_itself_with_an_example(name: str) -> None:
    command = load_command_class(get_commands()[name], name)

    help_text = command.create_parser("manage.py", name).format_help()

    assert help_text.startswith(f"usage: manage.py {name}")
    assert "Example:" in help_text or name == "run_tally"
