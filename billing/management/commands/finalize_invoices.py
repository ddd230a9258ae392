"""Finalize a month's draft invoices from the command line (scripted month-end)."""

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.management.commands._arguments import OperatorCommand, team_from_slug, text_from_argument
from billing.invoicing.drafting import InvoiceStateError
from billing.invoicing.exports import invoice_title
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.periods import period_has_ended, period_next, period_parse
from billing.models import Invoice, InvoiceStatus
from billing.money import invoice_money_text


class Command(OperatorCommand):
    help = (
        "Finalize the draft invoices of a month that has ended, e.g. `finalize_invoices 2026-03`: the "
        "same checks and gapless numbers as the admin's Finalize action. An unsettled invoice is "
        "finalized only with --override-reason."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="The month, as YYYY-MM (UTC).")
        parser.add_argument("--team", help="Only this team's invoice (slug).")
        parser.add_argument("--override-reason", default="", help="Finalize even if unsettled, for this reason.")

    def handle(self, *args, period: str, team: str | None, override_reason: str, **options) -> None:
        try:
            month = period_parse(period)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not period_has_ended(month, today=timezone.now().date()):
            raise CommandError(f"{month:%Y-%m} has not ended yet; it can be finalized from {period_next(month):%Y-%m-%d}.")
        reason = text_from_argument(override_reason, option="--override-reason", max_length=2000, blank=True)
        drafts = Invoice.objects.filter(period=month, status=InvoiceStatus.DRAFT).select_related("team")
        if team is not None:
            drafts = drafts.filter(team=team_from_slug(text_from_argument(team, option="--team", max_length=64)))
        drafts = list(drafts.order_by("team__slug"))
        if not drafts:
            raise CommandError(f"No draft invoices for {month:%Y-%m}; draft them with close_period {month:%Y-%m}.")
        refused = 0
        for draft in drafts:
            try:
                invoice = invoice_finalize(invoice=draft, by=None, override_reason=reason)
            except InvoiceStateError as error:
                refused += 1
                self.stderr.write(f"{draft.team.slug}: not finalized: {error}")
                continue
            self.stdout.write(
                f"{invoice_title(invoice)}  {invoice.team.slug}  {invoice_money_text(invoice.total, invoice.currency)}"
            )
        self.stdout.write(f"{len(drafts) - refused} of {len(drafts)} invoice(s) for {month:%Y-%m} finalized.")
        if refused:
            raise CommandError(f"{refused} invoice(s) not finalized; see above.")
