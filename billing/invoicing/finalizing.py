"""Finalizing an invoice: settled (or overridden by finance), numbered, frozen."""

from django.db import transaction
from django.utils import timezone

from accounts.access import user_is_finance
from accounts.models import Team
from billing.invoicing.document import invoice_terms
from billing.invoicing.drafting import InvoiceStateError, invoice_draft
from billing.invoicing.numbering import invoice_number_next
from billing.invoicing.periods import period_has_ended, period_next
from billing.invoicing.settlement import unsettled_generations
from billing.models import Invoice, InvoiceStatus
from lib.errors import NotAllowed

OVERRIDE_PERMISSION = "billing.override_unsettled_invoice"


class InvoiceNotSettledError(InvoiceStateError):
    def __init__(self, invoice: Invoice, unsettled: int):
        self.unsettled = unsettled
        super().__init__(
            f"{unsettled} generation(s) of {invoice.team} in {invoice.period:%Y-%m} are pending or have open "
            "discrepancies. Settle them, or finalize with an override and a reason."
        )


def invoice_finalize(*, invoice: Invoice, by, override_reason: str = "") -> Invoice:
    """Finalize a draft: rebuild it from the current roll-ups, check that its period has ended
    and is settled, take the next gapless number and freeze it, all in one transaction.

    The one service behind the admin's Finalize action and `manage.py finalize_invoices`. A month
    that has not ended (UTC) is never finalized, override or not. An unsettled period is
    finalized only with an override: a non-empty reason, given by a user with the override
    permission (the Finance group has it), or by the operator on the command line (`by` None).
    Raises InvoiceStateError otherwise, and NotAllowed for an override by anyone else, changing
    nothing.
    """
    override_reason = (override_reason or "").strip()
    if override_reason and by is not None and not (user_is_finance(by) and by.has_perm(OVERRIDE_PERMISSION)):
        raise NotAllowed("Only finance may finalize an unsettled invoice with an override.")
    if not period_has_ended(invoice.period, today=timezone.now().date()):
        raise InvoiceStateError(
            f"{invoice.period:%Y-%m} has not ended yet; its invoices can be finalized from "
            f"{period_next(invoice.period):%Y-%m-%d} (UTC), override or not."
        )
    with transaction.atomic():
        # The team first, then the invoice: the order drafting takes its locks in.
        Team.objects.select_for_update().get(pk=invoice.team_id)
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status != InvoiceStatus.DRAFT:
            raise InvoiceStateError(f"Only drafts can be finalized; {locked} is {locked.status}.")
        locked = invoice_draft(team=locked.team, period=locked.period)
        unsettled = unsettled_generations(team=locked.team, period=locked.period).count()
        if unsettled and not override_reason:
            raise InvoiceNotSettledError(locked, unsettled)
        now = timezone.now()
        locked.number = invoice_number_next(year=now.year)
        locked.status = InvoiceStatus.FINALIZED
        locked.finalized_by = by
        locked.override_reason = override_reason if unsettled else ""
        terms = invoice_terms(locked)  # the draft's terms, from the locked team and the settings
        locked.issuer_name, locked.issuer_address = terms.issuer_name, terms.issuer_address
        locked.bill_to_name, locked.bill_to_address = terms.bill_to_name, terms.bill_to_address
        locked.markup_rate = terms.markup_rate
        locked.finalized_at = now
        locked.save()
    return locked
