from accounts.management.commands._arguments import (
    OperatorCommand,
    secret_from_environment,
    team_from_slug,
    validation_errors_as_command_errors,
)
from accounts.models import Membership
from accounts.services import member_add


class Command(OperatorCommand):
    help = (
        "Give a user a role in a team, creating the user if needed. "
        "Example: ALICE_PASSWORD=... add_member research alice --role admin --password-env ALICE_PASSWORD"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("team", help="The team's slug.")
        parser.add_argument("username", help="The user's login name.")
        parser.add_argument(
            "--role",
            default=Membership.Role.MEMBER,
            help=f"One of {', '.join(Membership.Role.values)} (default {Membership.Role.MEMBER}).",
        )
        parser.add_argument("--email", default="", help="The user's email address.")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="Environment variable holding the password to set (a new user without one cannot log in).",
        )

    def handle(self, *args, **options) -> None:
        team = team_from_slug(options["team"])
        password = secret_from_environment(options["password_env"]) if options["password_env"] else None
        with validation_errors_as_command_errors():
            added = member_add(
                team=team,
                username=options["username"],
                role=options["role"],
                email=options["email"],
                password=password,
            )
        membership = added.membership
        user_part = "new user" if added.user_created else "user"
        verb = "Added" if added.membership_created else "Updated"
        self.stdout.write(
            f"{verb} {user_part} {membership.user.get_username()} in team {team.slug} as {membership.role}."
        )
