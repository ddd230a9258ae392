"""Invoice exports: CSV of the lines, and the invoice as a document (billing.invoicing.document)
for the PDF and the printable page."""

import csv
import io
from collections.abc import Iterable

from billing.csv_cells import csv_text
from billing.invoicing.document import invoice_document, invoice_lines, invoice_title
from billing.invoicing.pdf import invoice_pdf
from billing.models import Invoice
from billing.money import decimal_text

__all__ = ["invoice_document", "invoice_lines", "invoice_pdf", "invoice_title", "invoices_csv"]

CSV_HEADER = [
    "invoice",
    "team",
    "period",
    "status",
    "kind",
    "api_key",
    "model",
    "description",
    "generations",
    "tokens",
    "amount_exact",
    "amount",
    "verified_amount",
    "currency",
]


def invoices_csv(invoices: Iterable[Invoice]) -> str:
    """The lines of one or more invoices as CSV, one row per line; amounts as exact decimals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for invoice in invoices:
        for line in invoice_lines(invoice):
            writer.writerow(
                [
                    csv_text(invoice_title(invoice)),
                    csv_text(invoice.team.slug),
                    f"{invoice.period:%Y-%m}",
                    csv_text(invoice.status),
                    csv_text(line.kind),
                    csv_text(line.api_key.slug if line.api_key else ""),
                    csv_text(line.model),
                    csv_text(line.description),
                    line.generations,
                    line.tokens,
                    decimal_text(line.amount_exact),
                    decimal_text(line.amount),
                    decimal_text(line.verified_amount),
                    csv_text(invoice.currency),
                ]
            )
    return buffer.getvalue()


