from accounts.management.commands._arguments import (
    OperatorCommand,
    decimal_from_argument,
    secret_from_environment,
    validation_errors_as_command_errors,
)
from accounts.models import Gateway
from accounts.services import gateway_create


class Command(OperatorCommand):
    help = (
        "Configure a gateway connection. "
        "Example: add_gateway kushrouter --kind kushrouter --base-url https://api.kushrouter.com --discount 0.30"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The gateway's id in Tally, e.g. openrouter.")
        parser.add_argument("--kind", required=True, help=f"The protocol it speaks: {', '.join(Gateway.Kind.values)}.")
        parser.add_argument("--base-url", required=True, help="Where its API lives, e.g. https://openrouter.ai.")
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument(
            "--lookup-secret-env",
            metavar="VAR",
            help="Environment variable holding an optional account-wide lookup credential (stored encrypted).",
        )
        parser.add_argument(
            "--management-secret-env",
            metavar="VAR",
            help="Environment variable holding an OpenRouter management key, for coverage checks (stored encrypted).",
        )
        parser.add_argument(
            "--grace-seconds", type=int, help="How long after a generation a 404 means 'not yet' (default 600)."
        )
        parser.add_argument(
            "--retention-days",
            type=int,
            help="How long the gateway keeps generation records (default: 7 for kushrouter, else unlimited).",
        )
        parser.add_argument("--concurrency", type=int, help="Concurrent lookups at most (default 16).")
        parser.add_argument(
            "--rate-limit", type=int, help="Lookups per second across all workers; 0 means no limit (default 0)."
        )
        parser.add_argument(
            "--discount",
            help="The gateway's discount off list price, as a fraction: 0.30 = 30%% off (default: 0.30 for kushrouter, "
            "as its pricing page says; else 0).",
        )
        parser.add_argument(
            "--lookup-path",
            default="",
            help="Where the gateway answers generation lookups, if not the kind's usual path "
            "(/api/v1/generation; kushrouter /api/v1/generations), e.g. /v1/generation.",
        )

    def handle(self, *args, **options) -> None:
        lookup_secret = ""
        if options["lookup_secret_env"]:
            lookup_secret = secret_from_environment(options["lookup_secret_env"])
        management_secret = ""
        if options["management_secret_env"]:
            management_secret = secret_from_environment(options["management_secret_env"])
        discount = None
        if options["discount"] is not None:
            discount = decimal_from_argument(options["discount"], option="--discount", example="0.30")
        with validation_errors_as_command_errors():
            gateway = gateway_create(
                slug=options["slug"],
                kind=options["kind"],
                base_url=options["base_url"],
                name=options["name"],
                lookup_secret=lookup_secret,
                management_secret=management_secret,
                grace_seconds=options["grace_seconds"],
                retention_days=options["retention_days"],
                concurrency=options["concurrency"],
                rate_limit_per_second=options["rate_limit"],
                discount=discount,
                lookup_path=options["lookup_path"],
            )
        retention = f"{gateway.retention_days} days" if gateway.retention_days is not None else "unlimited"
        self.stdout.write(
            f"Created gateway {gateway.slug} ({gateway.get_kind_display()}) at {gateway.base_url}: "
            f"grace {gateway.grace_seconds}s, retention {retention}, concurrency {gateway.concurrency}, "
            f"rate limit {gateway.rate_limit_per_second or 'none'}/s, discount {gateway.discount}, "
            f"lookup path {gateway.lookup_path or 'the usual one'}, "
            f"lookup credential {'set' if gateway.lookup_secret_encrypted else 'none'}, "
            f"management key {'set' if gateway.management_secret_encrypted else 'none'}."
        )
