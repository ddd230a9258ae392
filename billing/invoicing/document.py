"""An invoice as the document a customer receives: every text already written, once, so the PDF
and the printable page say exactly the same (money and percentages through billing.money).

The issuer comes from settings (TALLY_INVOICE_ISSUER_NAME, TALLY_INVOICE_ISSUER_ADDRESS), the
bill-to from the team's billing name and address, the due date from TALLY_INVOICE_DUE_DAYS after
the issue date (the day it was finalized; today for a draft).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.money import invoice_money_text, percent_text, rate_text

AMOUNTS_NOTE = (
    "Amounts are the gateway's charged cost where verified and the recorded cost otherwise. Each line is "
    "rounded once to cents (half-even); the subtotal is the sum of the rounded lines."
)


@dataclass(frozen=True)
class DocumentLine:
    key: str
    label: str
    generations: str
    tokens: str
    verified: str
    amount: str


@dataclass(frozen=True)
class InvoiceDocument:
    title: str
    number: str
    status: str
    watermark: str  # "DRAFT", "VOID" or ""
    issuer_name: str
    issuer_address: list[str]
    bill_to_name: str
    bill_to_address: list[str]
    period: str
    issue_date: str
    due_date: str
    currency: str
    verified_share: str
    lines: list[DocumentLine]
    subtotal: str
    verified_subtotal: str
    markup_label: str
    markup: str
    total: str
    notes: list[str]


def invoice_title(invoice: Invoice) -> str:
    """How people call an invoice: its number, or "Draft Acme Research 2026-03" (the team's name)."""
    return invoice.number or f"Draft {invoice.team.name} {invoice.period:%Y-%m}"


def invoice_filename(invoice: Invoice, extension: str) -> str:
    """A file name safe in a header: the number, or draft-<team slug>-<period>."""
    return f"{invoice.number or f'draft-{invoice.team.slug}-{invoice.period:%Y-%m}'}.{extension}"


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.select_related("api_key").order_by("kind", "key_name", "model", "id"))


def invoice_issue_date(invoice: Invoice) -> date:
    moment = invoice.finalized_at or timezone.now()
    return moment.date()


@dataclass(frozen=True)
class InvoiceTerms:
    """Who issues the invoice, who it is addressed to, and the markup rate it applies."""

    issuer_name: str
    issuer_address: str
    bill_to_name: str
    bill_to_address: str
    markup_rate: Decimal


def invoice_terms(invoice: Invoice) -> InvoiceTerms:
    """The terms as kept when the invoice was finalized; for a draft, as the settings and the
    team say now (the team's name when it has no bill-to name)."""
    if invoice.finalized_at is not None:
        return InvoiceTerms(
            issuer_name=invoice.issuer_name,
            issuer_address=invoice.issuer_address,
            bill_to_name=invoice.bill_to_name,
            bill_to_address=invoice.bill_to_address,
            markup_rate=invoice.markup_rate,
        )
    team = invoice.team
    return InvoiceTerms(
        issuer_name=settings.TALLY_INVOICE_ISSUER_NAME,
        issuer_address=settings.TALLY_INVOICE_ISSUER_ADDRESS,
        bill_to_name=team.bill_to_name or team.name,
        bill_to_address=team.bill_to_address,
        markup_rate=team.invoice_markup,
    )


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """Everything printed on the invoice, as text."""
    currency = invoice.currency
    issued = invoice_issue_date(invoice)
    due = issued + timedelta(days=settings.TALLY_INVOICE_DUE_DAYS)
    terms = invoice_terms(invoice)
    notes = []
    if invoice.status == InvoiceStatus.VOID:
        notes.append(f"Void: {invoice.void_reason}")
    if invoice.override_reason:
        notes.append(f"Finalized with an override: {invoice.override_reason}")
    notes.append(AMOUNTS_NOTE)
    return InvoiceDocument(
        title=invoice_title(invoice),
        number=invoice.number or "not yet numbered (draft)",
        status=invoice.get_status_display(),
        watermark={InvoiceStatus.DRAFT: "DRAFT", InvoiceStatus.VOID: "VOID"}.get(invoice.status, ""),
        issuer_name=terms.issuer_name,
        issuer_address=_address_lines(terms.issuer_address),
        bill_to_name=terms.bill_to_name,
        bill_to_address=_address_lines(terms.bill_to_address),
        period=f"{invoice.period:%B %Y} (UTC)",
        issue_date=f"{issued:%Y-%m-%d}" + ("" if invoice.finalized_at else " (draft)"),
        due_date=f"{due:%Y-%m-%d}",
        currency=currency,
        verified_share=percent_text(invoice.verified_share),
        lines=[
            DocumentLine(
                key=line.key_name,
                label=line.model if line.kind == InvoiceLine.Kind.USAGE else line.description,
                generations=f"{line.generations:,}",
                tokens=f"{line.tokens:,}",
                verified=invoice_money_text(line.verified_amount, currency),
                amount=invoice_money_text(line.amount, currency),
            )
            for line in invoice_lines(invoice)
        ],
        subtotal=invoice_money_text(invoice.subtotal, currency),
        verified_subtotal=invoice_money_text(invoice.verified_amount, currency),
        markup_label=f"Markup ({rate_text(terms.markup_rate)})",
        markup=invoice_money_text(invoice.markup, currency),
        total=invoice_money_text(invoice.total, currency),
        notes=notes,
    )


def _address_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
