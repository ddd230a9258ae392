"""Voiding an invoice: it keeps its number and lines, and records who voided it and why."""

from django.db import transaction
from django.utils import timezone

from billing.invoicing.drafting import InvoiceStateError, invoice_draft
from billing.models import Invoice, InvoiceLine, InvoiceStatus


def invoice_void(*, invoice: Invoice, by, reason: str) -> Invoice:
    """Void a draft or finalized invoice with a reason. A voided draft gives its adjustment lines
    back (they land on the team's next draft); a voided finalized invoice changes nothing else."""
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceStateError("A reason is required to void an invoice.")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == InvoiceStatus.VOID:
            raise InvoiceStateError(f"{locked} is already void.")
        if locked.status == InvoiceStatus.DRAFT:
            locked.lines.filter(kind=InvoiceLine.Kind.ADJUSTMENT).delete()
        locked.status = InvoiceStatus.VOID
        locked.voided_at = timezone.now()
        locked.voided_by = by
        locked.void_reason = reason
        locked.save()
    return locked


def invoice_replace(*, invoice: Invoice) -> Invoice:
    """The replacement of a voided invoice: the team's draft for the same period, built from the
    current figures (or the draft that already replaced it). Raises InvoiceStateError unless
    `invoice` is void."""
    if invoice.status != InvoiceStatus.VOID:
        raise InvoiceStateError(f"Only a void invoice is replaced; {invoice} is {invoice.status}.")
    return invoice_draft(team=invoice.team, period=invoice.period)
