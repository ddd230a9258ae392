"""Create this month's and the coming months' partitions of generations and gateway records."""

from django.conf import settings
from django.db import connection

from accounts.management.commands._arguments import OperatorCommand
from generations.partitions import partitions_ensure


class Command(OperatorCommand):
    help = (
        "Create this month's and the coming months' partitions of generations and gateway records "
        "(PostgreSQL), moving any rows waiting in the DEFAULT partitions; safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=settings.TALLY_PARTITION_MONTHS_AHEAD,
            help="How many months after this one (default TALLY_PARTITION_MONTHS_AHEAD).",
        )

    def handle(self, *args, months_ahead: int, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: the tables are not partitioned.")
            return
        created = partitions_ensure(months_ahead=months_ahead)
        for name in created:
            self.stdout.write(f"created {name}")
        if not created:
            self.stdout.write("Every partition exists already.")
