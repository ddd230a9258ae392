"""Draft (or redraft) every team's invoice for a month."""

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.management.commands._arguments import OperatorCommand
from billing.invoicing.drafting import invoices_draft_period
from billing.invoicing.exports import invoice_title
from billing.invoicing.periods import period_check_not_future, period_parse
from billing.money import invoice_money_text, percent_text


class Command(OperatorCommand):
    help = (
        "Draft (or redraft) every team's invoice for a month, e.g. `close_period 2026-03`. "
        "Finalized invoices are left as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="The month, as YYYY-MM (UTC).")

    def handle(self, *args, period: str, **options) -> None:
        try:
            month = period_parse(period)
            period_check_not_future(month, today=timezone.now().date())
        except ValueError as error:
            raise CommandError(str(error)) from None
        invoices = invoices_draft_period(period=month)
        failed = [invoice for invoice in invoices if invoice.draft_error]
        for invoice in invoices:
            if invoice.draft_error:
                self.stderr.write(f"{invoice_title(invoice)}  {invoice.team.slug}  {invoice.draft_error}")
                continue
            self.stdout.write(
                f"{invoice_title(invoice)}  {invoice.team.slug}  {invoice.status}  "
                f"{invoice_money_text(invoice.total, invoice.currency)}  verified {percent_text(invoice.verified_share)}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(invoices) - len(failed)} invoice(s) for {month:%Y-%m}."))
        if failed:
            raise CommandError(f"{len(failed)} team(s) could not be drafted; see above, and the invoices in the admin.")
