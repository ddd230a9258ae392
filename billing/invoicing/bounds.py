"""Whether a draft's figures fit their columns: checked before a draft is written, so that one
that would not fit fails for its team alone (see lib/bounds.py for the bounds ingest keeps)."""

from billing.models import Invoice, InvoiceLine
from lib.bounds import fits

INVOICE_FIGURES = ("subtotal", "markup", "total", "verified_amount", "usage_amount")
LINE_FIGURES = ("amount_exact", "amount", "verified_amount")


def invoice_figures_fit(invoice: Invoice, lines: list[InvoiceLine]) -> str:
    """Empty when the invoice's figures and its lines' fit their columns, else what does not."""
    for line in lines:
        for name in LINE_FIGURES:
            if not fits(InvoiceLine._meta.get_field(name), getattr(line, name)):
                return f"the line {line.description!r} ({name} {getattr(line, name)}) is too large to store"
    for name in INVOICE_FIGURES:
        if not fits(Invoice._meta.get_field(name), getattr(invoice, name)):
            return f"its {name} ({getattr(invoice, name)}) is too large to store"
    return ""
