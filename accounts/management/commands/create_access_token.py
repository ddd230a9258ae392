from accounts.management.commands._arguments import OperatorCommand, team_from_slug, validation_errors_as_command_errors
from accounts.models import AccessToken
from accounts.services import access_token_create


class Command(OperatorCommand):
    help = (
        "Issue a Tally API token for a team and print it once, alone on the last line. "
        "Example: create_access_token research --scopes ingest,read --name ingest-service"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("team", help="The team's slug.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes: {', '.join(AccessToken.Scope.values)}.",
        )
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, **options) -> None:
        team = team_from_slug(options["team"])
        with validation_errors_as_command_errors():
            token, plaintext = access_token_create(
                team=team, scopes=options["scopes"].split(","), name=options["name"]
            )
        self.stdout.write(
            f"Created access token {token.prefix}… for team {team.slug} with scopes {token.scopes}. "
            "It is shown once, now; only its hash is kept:"
        )
        self.stdout.write(plaintext)
