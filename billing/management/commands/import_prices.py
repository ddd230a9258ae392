import sys
from pathlib import Path

from django.core.management.base import CommandError

from accounts.management.commands._arguments import OperatorCommand
from billing.prices import PRICE_COLUMNS, PriceImportError, prices_import


class Command(OperatorCommand):
    help = (
        "Import gateway list prices (USD per million tokens) from a CSV file with the header "
        f"{','.join(PRICE_COLUMNS)}; '-' reads standard input. A bad row rejects the whole file. "
        "Example: import_prices prices.csv"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The CSV file, or - for standard input.")

    def handle(self, *args, file: str, **options) -> None:
        try:
            if file == "-":
                result = prices_import(lines=sys.stdin)
            else:
                with Path(file).open(newline="", encoding="utf-8-sig") as lines:
                    result = prices_import(lines=lines)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text. Nothing was imported.") from None
        except PriceImportError as error:
            raise CommandError(f"{file}: {error}. Nothing was imported.") from None
        self.stdout.write(
            f"Imported {result.total} prices from {file}: {result.created} new, {result.updated} replaced."
        )
