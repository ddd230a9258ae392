from accounts.management.commands._arguments import OperatorCommand, validation_errors_as_command_errors
from accounts.services import team_create


class Command(OperatorCommand):
    help = "Create a team. Example: add_team 'Research' --slug research"

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The team's display name.")
        parser.add_argument("--slug", default="", help="Its id in URLs and commands (default: from the name).")

    def handle(self, *args, name: str, slug: str, **options) -> None:
        with validation_errors_as_command_errors():
            team = team_create(name=name, slug=slug)
        self.stdout.write(f"Created team {team.slug} ({team.name}).")
