from django.core.management.base import BaseCommand

from accounts.management.commands._arguments import (
    decimal_from_argument,
    gateway_from_slug,
    secret_from_environment,
    team_from_slug,
    validation_errors_as_command_errors,
)
from accounts.services import api_key_create


class Command(BaseCommand):
    help = (
        "Register a team's gateway API key; the secret is read from an environment variable. "
        "Example: OPENROUTER_KEY=sk-or-... add_api_key research openrouter 'Batch jobs' --secret-env OPENROUTER_KEY"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("team", help="The team's slug.")
        parser.add_argument("gateway", help="The gateway's slug.")
        parser.add_argument("name", help="A name for the key.")
        parser.add_argument("--slug", default="", help="Its public id in Tally (default: <team>-<name>).")
        parser.add_argument(
            "--secret-env", required=True, metavar="VAR", help="Environment variable holding the key's secret."
        )
        parser.add_argument("--byok", action="store_true", help="Calls with it bill the team's own provider account.")
        parser.add_argument("--budget", metavar="USD", help="Optional monthly budget in USD.")
        parser.add_argument(
            "--litellm-model",
            action="append",
            default=[],
            metavar="NAME",
            help="A LiteLLM model group name or deployment id served with this key (repeatable).",
        )
        parser.add_argument("--litellm-api-base", default="", metavar="URL", help="The api_base of its LiteLLM deployments.")
        parser.add_argument(
            "--broadcast-key-name", default="", metavar="NAME", help="The key's name at OpenRouter, as Broadcast traces carry it."
        )

    def handle(self, *args, **options) -> None:
        team = team_from_slug(options["team"])
        gateway = gateway_from_slug(options["gateway"])
        secret = secret_from_environment(options["secret_env"])
        monthly_budget = None
        if options["budget"] is not None:
            monthly_budget = decimal_from_argument(options["budget"], option="--budget", example="250.00")
        with validation_errors_as_command_errors():
            api_key = api_key_create(
                team=team,
                gateway=gateway,
                name=options["name"],
                secret=secret,
                slug=options["slug"],
                is_byok=options["byok"],
                monthly_budget=monthly_budget,
                litellm_models=options["litellm_model"],
                litellm_api_base=options["litellm_api_base"],
                broadcast_key_name=options["broadcast_key_name"],
            )
        details = ["BYOK"] if api_key.is_byok else []
        if api_key.monthly_budget is not None:
            details.append(f"budget {api_key.monthly_budget} USD/month")
        suffix = f" ({', '.join(details)})" if details else ""
        self.stdout.write(
            f"Created key {api_key.slug} for team {team.slug} on gateway {gateway.slug}, "
            f"ending …{api_key.last_four}{suffix}."
        )
