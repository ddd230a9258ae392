"""Draft (or redraft) every team's invoice for a month."""

from django.core.management.base import BaseCommand, CommandError

from billing.invoicing.drafting import invoices_draft_period
from billing.invoicing.exports import invoice_title
from billing.money import invoice_money_text, percent_text
from billing.invoicing.periods import period_parse


class Command(BaseCommand):
    help = (
        "Draft (or redraft) every team's invoice for a month, e.g. `close_period 2026-03`. "
        "Finalized invoices are left as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="The month, as YYYY-MM (UTC).")

    def handle(self, *args, period: str, **options) -> None:
        try:
            month = period_parse(period)
        except ValueError as error:
            raise CommandError(str(error)) from None
        invoices = invoices_draft_period(period=month)
        for invoice in invoices:
            self.stdout.write(
                f"{invoice_title(invoice)}  {invoice.team.slug}  {invoice.status}  "
                f"{invoice_money_text(invoice.total, invoice.currency)}  verified {percent_text(invoice.verified_share)}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(invoices)} invoice(s) for {month:%Y-%m}."))
