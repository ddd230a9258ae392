"""Check coverage now, in the foreground, on the same code path as the daily job.

    python manage.py check_coverage                               yesterday (UTC), every checkable gateway
    python manage.py check_coverage --date 2026-11-30 --gateway openrouter

Prints one line per gateway day. Exits non-zero on bad input (one line), when a named gateway
or the day cannot be checked, or when a check paused, failed or could not reach the gateway.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._arguments import gateway_from_slug
from billing.coverage.services import CHECKED, CoverageNotCheckable, coverage_check_day, coverage_gateways, utc_today
from generations.gateways.base import GatewayError


class Command(BaseCommand):
    help = "Compare what the gateway billed each key on a UTC day with Tally's records (coverage)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="The UTC day to check (default: yesterday).")
        parser.add_argument("--gateway", metavar="SLUG", help="Only this gateway (default: every checkable one).")

    def handle(self, *args, **options) -> None:
        day = self.day_from(options["date"])
        if options["gateway"]:
            gateways = [gateway_from_slug(options["gateway"])]
        else:
            gateways = coverage_gateways()
            if not gateways:
                self.stdout.write("No gateway can be checked: none of kind openrouter has a management key.")
                return
        problems = []
        for gateway in gateways:
            try:
                result = coverage_check_day(gateway=gateway, day=day)
            except CoverageNotCheckable as error:
                raise CommandError(f"Not checkable: {error}.") from None
            except GatewayError as error:
                problems.append(f"{gateway.slug} {day}: the gateway did not answer ({error}); try again later.")
                continue
            line = result.summary()
            if result.outcome == CHECKED:
                self.stdout.write(line)
            else:
                problems.append(line)
        if problems:
            raise CommandError(" ".join(problems))

    def day_from(self, text: str | None) -> date:
        if text is None:
            return utc_today() - timedelta(days=1)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--date must be a day as YYYY-MM-DD, not {text[:40]!r}.") from None
