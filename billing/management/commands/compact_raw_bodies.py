"""Compact old months' raw gateway bodies to their SHA-256 and size (TALLY_RAW_RETENTION_MONTHS)."""

from django.conf import settings

from accounts.management.commands._arguments import OperatorCommand
from billing.raw_retention import raw_bodies_compact


class Command(OperatorCommand):
    help = (
        "Replace the raw gateway bodies of settled months (invoices final, no open findings) before "
        "the current month and the N before it by their SHA-256 and size; safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--retention-months",
            type=int,
            default=settings.TALLY_RAW_RETENTION_MONTHS,
            help="Months kept besides the current one (default TALLY_RAW_RETENTION_MONTHS; 0 keeps everything).",
        )

    def handle(self, *args, retention_months: int, **options) -> None:
        if retention_months <= 0:
            self.stdout.write("Retention is 0: every raw body is kept.")
            return
        for month, outcome in raw_bodies_compact(retention_months=retention_months).items():
            if isinstance(outcome, int):
                self.stdout.write(f"{month}: {outcome} raw bodies compacted")
            else:
                self.stdout.write(f"{month}: kept, {outcome}")
