"""Invoice exports: CSV of the lines, a PDF, and the context of the printable HTML page."""

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.csv_cells import csv_text
from billing.models import Invoice, InvoiceLine, InvoiceStatus

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


def invoice_title(invoice: Invoice) -> str:
    return invoice.number or f"Draft {invoice.team.slug} {invoice.period:%Y-%m}"


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.select_related("api_key").order_by("kind", "api_key__name", "model", "id"))


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
                    _plain(line.amount_exact),
                    _plain(line.amount),
                    _plain(line.verified_amount),
                    csv_text(invoice.currency),
                ]
            )
    return buffer.getvalue()


def _plain(amount: Decimal) -> str:
    """A decimal without exponent notation or trailing noise (0E-12 -> 0.000000000000)."""
    return f"{amount:f}"


def money_display(amount: Decimal, currency: str = "USD") -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency} {abs(amount):,.2f}"


def percent_display(share: Decimal | None) -> str:
    """A share as a percentage; a dash when there is nothing to share."""
    return "—" if share is None else f"{share * 100:.1f}%"


def invoice_pdf(invoice: Invoice) -> bytes:
    """A one-document PDF of the invoice: header, lines, totals and the verified share."""
    buffer = io.BytesIO()
    title = invoice_title(invoice)
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Invoice {title}", author="Tally", leftMargin=18 * mm, rightMargin=18 * mm
    )
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, leading=10)
    currency = invoice.currency
    story = [
        Paragraph(f"Invoice {pdf_text(title)}", styles["Title"]),
        Table(
            [
                ["Team", invoice.team.name, "Status", invoice.get_status_display()],
                ["Period", f"{invoice.period:%B %Y}", "Finalized", _when(invoice.finalized_at)],
                ["Currency", currency, "Verified share", percent_display(invoice.verified_share)],
            ],
            colWidths=[25 * mm, 60 * mm, 30 * mm, 55 * mm],
            style=TableStyle(
                [("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"), ("FONTNAME", (2, 0), (2, -1), "Helvetica-Bold")]
            ),
        ),
        Spacer(1, 6 * mm),
    ]
    if invoice.status == InvoiceStatus.VOID:
        story.insert(1, Paragraph(f"VOID: {pdf_text(invoice.void_reason)}", styles["Heading2"]))
    rows: list[list] = [["Key", "Model / description", "Generations", "Tokens", "Verified", "Amount"]]
    for line in invoice_lines(invoice):
        label = line.model if line.kind == InvoiceLine.Kind.USAGE else line.description
        rows.append(
            [
                Paragraph(pdf_text(line.api_key.name if line.api_key else ""), small),
                Paragraph(pdf_text(label), small),
                f"{line.generations:,}",
                f"{line.tokens:,}",
                money_display(line.verified_amount, currency),
                money_display(line.amount, currency),
            ]
        )
    totals_start = len(rows)
    rows.append(
        [
            "",
            "Subtotal",
            "",
            "",
            money_display(invoice.verified_amount, currency),
            money_display(invoice.subtotal, currency),
        ]
    )
    rows.append(
        [
            "",
            f"Markup ({percent_display(invoice.team.invoice_markup)})",
            "",
            "",
            "",
            money_display(invoice.markup, currency),
        ]
    )
    rows.append(["", "Total", "", "", "", money_display(invoice.total, currency)])
    table = Table(rows, colWidths=[32 * mm, 60 * mm, 20 * mm, 22 * mm, 20 * mm, 22 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#334155")),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, totals_start), (-1, totals_start), 0.8, colors.HexColor("#334155")),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ROWBACKGROUNDS", (0, 1), (-1, totals_start - 1), [colors.white, colors.HexColor("#f6f8fa")]),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]
    if invoice.override_reason:
        story.append(Paragraph(f"Finalized with an override: {pdf_text(invoice.override_reason)}", small))
    story.append(
        Paragraph(
            "Amounts are the gateway's charged cost where verified and the recorded cost otherwise; each line is "
            "rounded once to cents (half-even) and the total is the sum of the rounded lines.",
            small,
        )
    )
    document.build(story)
    return buffer.getvalue()


def pdf_text(value: str) -> str:
    """Text as ReportLab Paragraph markup that shows it literally. Paragraph reads its text as
    markup: an unescaped `<img src=...>` in a model name makes the server fetch the URL, an
    `<a href>` plants a link, a stray `<` fails the whole PDF. Every text bound for a Paragraph
    goes through here."""
    return escape(value or "")


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "not yet"
