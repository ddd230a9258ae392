from accounts.management.commands._arguments import OperatorCommand, validation_errors_as_command_errors
from accounts.services import team_create


class Command(OperatorCommand):
    help = "Create a team. Example: add_team 'Research' --slug research"

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The team's display name.")
        parser.add_argument("--slug", default="", help="Its id in URLs and commands (default: from the name).")
        parser.add_argument("--bill-to-name", default="", help="Who its invoices are addressed to (default: the name).")
        parser.add_argument(
            "--bill-to-address", default="", help="The postal address on its invoices; separate lines with \\n."
        )

    def handle(self, *args, name: str, slug: str, bill_to_name: str, bill_to_address: str, **options) -> None:
        with validation_errors_as_command_errors():
            team = team_create(
                name=name,
                slug=slug,
                bill_to_name=bill_to_name,
                bill_to_address=bill_to_address.replace("\\n", "\n"),
            )
        self.stdout.write(f"Created team {team.slug} ({team.name}).")
