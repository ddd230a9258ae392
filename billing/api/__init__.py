"""API views for keys and their spend, discrepancies, and invoices, one module each.

What a caller sees is limited by accounts.access: a token its team, a member their teams,
finance staff everything. An object outside that answers 404, exactly like one that does not
exist.
"""

from billing.api.discrepancies import DiscrepancyDetailView, DiscrepancyListView
from billing.api.invoices import InvoiceDetailView, InvoiceListView
from billing.api.keys import KeyListView
from billing.api.spend import KeySpendView

__all__ = [
    "DiscrepancyDetailView",
    "DiscrepancyListView",
    "InvoiceDetailView",
    "InvoiceListView",
    "KeyListView",
    "KeySpendView",
]
