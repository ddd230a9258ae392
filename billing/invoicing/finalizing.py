"""Finalizing an invoice: settled (or overridden by finance), numbered, frozen."""

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from billing.invoicing.drafting import InvoiceStateError, invoice_draft
from billing.invoicing.numbering import invoice_number_next
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
    """Finalize a draft: rebuild it from the current roll-ups, check that its period is settled,
    take the next gapless number and freeze it, all in one transaction.

    An unsettled period is finalized only with an override: a non-empty reason, given by a user
    with the override permission (the Finance group has it). Raises InvoiceStateError otherwise,
    and NotAllowed for an override by anyone else.
    """
    override_reason = (override_reason or "").strip()
    if override_reason and not (by is not None and by.has_perm(OVERRIDE_PERMISSION)):
        raise NotAllowed("Only finance may finalize an unsettled invoice with an override.")
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
        locked.finalized_at = now
        locked.finalized_by = by
        locked.override_reason = override_reason if unsettled else ""
        locked.save()
    return locked
