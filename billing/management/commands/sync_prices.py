"""Refresh the gateways' own price lists now (the daily beat job does it too)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Gateway
from billing.price_lists import LISTING_KINDS, gateways_prices_sync


class Command(BaseCommand):
    help = (
        "Read the OpenRouter-kind gateways' own model lists now and store the list prices that changed "
        "(valid from today, UTC). Example: sync_prices --gateway openrouter"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--gateway", metavar="SLUG", help="Only this gateway (an OpenRouter-kind gateway).")

    def handle(self, *args, gateway: str | None = None, **options) -> None:
        gateways = None
        if gateway is not None:
            found = Gateway.objects.filter(slug=gateway).first()
            if found is None:
                raise CommandError(f"Unknown gateway {gateway!r}.")
            if found.kind not in LISTING_KINDS:
                raise CommandError(f"Gateway {gateway!r} is a {found.kind} gateway, which publishes no price list.")
            gateways = [found]
        results, errors = gateways_prices_sync(gateways=gateways)
        for result in results:
            self.stdout.write(
                f"{result.gateway}: {result.changed} prices changed, {result.unchanged} unchanged, "
                f"{len(result.skipped)} models skipped."
            )
            for skipped in result.skipped:
                # Model ids come from the gateway: shown quoted, never as raw terminal text.
                self.stdout.write(f"  skipped {skipped.model[:200]!r}: {skipped.reason}")
        if not results and not errors:
            self.stdout.write("No OpenRouter-kind gateway is configured.")
        if errors:
            raise CommandError("; ".join(errors) + ". Nothing was stored for those gateways.")
