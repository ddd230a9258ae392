"""Whether a draft's figures fit their columns: checked before a draft is written, so that one
that would not fit fails for its team alone (see lib/bounds.py for the bounds ingest keeps)."""

from billing.invoicing.draft_lines import DraftLine
from billing.models import Invoice, InvoiceLine
from lib.bounds import column_capacity

INVOICE_FIGURES = ("subtotal", "markup", "total", "verified_amount", "usage_amount")
LINE_FIGURES = ("amount_exact", "amount", "verified_amount")


def invoice_figures_fit(invoice: Invoice, lines: list[DraftLine]) -> str:
    """Empty when the invoice's figures and its lines' fit their columns, else what does not."""
    line_capacities = [(name, column_capacity(InvoiceLine._meta.get_field(name))) for name in LINE_FIGURES]
    for line in lines:
        for name, capacity in line_capacities:
            if abs(getattr(line, name)) > capacity:
                return f"the line {line.description!r} ({name} {getattr(line, name)}) is too large to store"
    for name in INVOICE_FIGURES:
        if abs(getattr(invoice, name)) > column_capacity(Invoice._meta.get_field(name)):
            return f"its {name} ({getattr(invoice, name)}) is too large to store"
    return ""
