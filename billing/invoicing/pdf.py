"""The invoice as a PDF (ReportLab), from the same InvoiceDocument as the printable page.

Every text enters ReportLab markup through `_text`, which escapes it: team names, key names and
reasons are typed by people and may contain `<`, `&` or markup of their own.
"""

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.invoicing.document import InvoiceDocument, invoice_document
from billing.models import Invoice

INK = colors.HexColor("#1f2937")
RULE = colors.HexColor("#334155")
HEADER_FILL = colors.HexColor("#e8edf3")
STRIPE = colors.HexColor("#f6f8fa")
WATERMARK = colors.Color(0.85, 0.15, 0.15, alpha=0.16)


def _text(value: str, style: ParagraphStyle) -> Paragraph:
    """The one way text enters the PDF: escaped, then set in a paragraph."""
    return Paragraph(escape(value), style)


def _lines(values: list[str], style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(escape(value) for value in values), style)


def _numbered_canvas(watermark: str) -> type[Canvas]:
    """A canvas that writes "Page n of m" on every page (known only once all are laid out) and
    the DRAFT or VOID watermark across each page."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, height = A4
            self.saveState()
            self.setFont("Helvetica", 8)
            self.setFillColor(INK)
            self.drawRightString(width - 18 * mm, 10 * mm, f"Page {self._pageNumber} of {total}")
            if watermark:
                self.setFont("Helvetica-Bold", 110)
                self.setFillColor(WATERMARK)
                self.translate(width / 2, height / 2)
                self.rotate(40)
                self.drawCentredString(0, -35, watermark)
            self.restoreState()

    return NumberedCanvas


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF: issuer and bill-to, number and dates, lines, totals, page numbers,
    and a DRAFT or VOID watermark when it is one."""
    document = invoice_document(invoice)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Invoice {document.title}",
        author=document.issuer_name,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    pdf.build(_story(document), canvasmaker=_numbered_canvas(document.watermark))
    return buffer.getvalue()


def _story(document: InvoiceDocument) -> list:
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    small = ParagraphStyle("small", parent=normal, fontSize=8, leading=10)
    label = ParagraphStyle("label", parent=normal, fontName="Helvetica-Bold", fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=styles["Title"], alignment=0)
    parties = Table(
        [
            [_text("From", label), _text("Bill to", label)],
            [
                _lines([document.issuer_name, *document.issuer_address], normal),
                _lines([document.bill_to_name, *document.bill_to_address], normal),
            ],
        ],
        colWidths=[87 * mm, 87 * mm],
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]),
    )
    facts = [
        ("Invoice number", document.number),
        ("Status", document.status),
        ("Period", document.period),
        ("Issue date", document.issue_date),
        ("Due date", document.due_date),
        ("Verified share", f"{document.verified_share} of the subtotal is confirmed by the gateways"),
    ]
    facts_table = Table(
        [[_text(name, label), _text(value, normal)] for name, value in facts],
        colWidths=[35 * mm, 139 * mm],
        style=TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
    )
    story = [_text(f"Invoice {document.title}", title), parties, Spacer(1, 5 * mm), facts_table, Spacer(1, 5 * mm)]
    story += [_lines_table(document, small), Spacer(1, 6 * mm)]
    story += [_text(note, small) for note in document.notes]
    return story


def _lines_table(document: InvoiceDocument, small: ParagraphStyle) -> Table:
    header = ["Key", "Model / description", "Generations", "Tokens", "Verified", f"Amount ({document.currency})"]
    rows: list[list] = [[_text(name, small) for name in header]]
    for line in document.lines:
        rows.append(
            [
                _text(line.key, small),
                _text(line.label, small),
                line.generations,
                line.tokens,
                line.verified,
                line.amount,
            ]
        )
    if not document.lines:
        rows.append(["", _text("No spend in this period.", small), "", "", "", ""])
    totals_start = len(rows)
    rows.append(["", "Subtotal", "", "", document.verified_subtotal, document.subtotal])
    rows.append(["", _text(document.markup_label, small), "", "", "", document.markup])
    rows.append(["", "Total", "", "", "", document.total])
    table = Table(rows, colWidths=[30 * mm, 56 * mm, 20 * mm, 20 * mm, 24 * mm, 24 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, totals_start), (-1, totals_start), 0.8, RULE),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("ROWBACKGROUNDS", (0, 1), (-1, totals_start - 1), [colors.white, STRIPE]),
            ]
        )
    )
    return table
