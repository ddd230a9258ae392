from accounts.management.commands._arguments import (
    OperatorCommand,
    decimal_from_argument,
    secret_from_environment,
    validation_errors_as_command_errors,
)
from accounts.services import team_create


class Command(OperatorCommand):
    help = (
        "Create a team with its bill-to and alert settings. Example: "
        "TEAM_WEBHOOK=https://hooks.slack.com/... add_team 'Research' --slug research --budget 2000 "
        "--webhook-url-env TEAM_WEBHOOK --digest"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The team's display name.")
        parser.add_argument("--slug", default="", help="Its id in URLs and commands (default: from the name).")
        parser.add_argument("--bill-to-name", default="", help="Who its invoices are addressed to (default: the name).")
        parser.add_argument(
            "--bill-to-address", default="", help="The postal address on its invoices; separate lines with \\n."
        )
        parser.add_argument("--budget", metavar="USD", help="Monthly budget in USD: 80%% and 100%% alert the admins.")
        parser.add_argument(
            "--webhook-url-env",
            metavar="VAR",
            help="Environment variable holding a Slack-compatible incoming webhook URL (https) for alerts.",
        )
        parser.add_argument("--digest", action="store_true", help="Mail the team's admins a daily findings digest.")
        parser.add_argument(
            "--dispute-rate-threshold",
            metavar="FRACTION",
            help="Alert when this share of the last hour's settled generations is disputed (0.25 = 25%%).",
        )

    def handle(self, *args, name: str, slug: str, bill_to_name: str, bill_to_address: str, **options) -> None:
        budget = options["budget"]
        threshold = options["dispute_rate_threshold"]
        webhook_variable = options["webhook_url_env"]
        with validation_errors_as_command_errors():
            team = team_create(
                name=name,
                slug=slug,
                bill_to_name=bill_to_name,
                bill_to_address=bill_to_address.replace("\\n", "\n"),
                monthly_budget=None if budget is None else decimal_from_argument(budget, option="--budget", example="2000"),
                alert_webhook_url=secret_from_environment(webhook_variable) if webhook_variable else "",
                digest_opt_in=options["digest"],
                dispute_rate_threshold=None
                if threshold is None
                else decimal_from_argument(threshold, option="--dispute-rate-threshold", example="0.25"),
            )
        self.stdout.write(f"Created team {team.slug} ({team.name}).")
