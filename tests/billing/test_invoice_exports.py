import csv
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.invoicing.drafting import invoice_draft
from billing.invoicing.exports import CSV_HEADER, invoice_pdf, invoices_csv
from billing.invoicing.finalizing import invoice_finalize
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice():
    team = make_team("globex", markup="0.10")
    make_generation(make_key(team, "prod"), cost="1.234567891234", charged="1.234567891234", state="verified")
    make_generation(make_key(team, "batch"), cost="0.50", model="anthropic/claude-sonnet")
    return invoice_finalize(
        invoice=invoice_draft(team=team, period=PERIOD), by=make_finance_user(), override_reason="month end"
    )


def test_csv_has_one_row_per_line_with_exact_and_rounded_amounts(invoice):
    rows = list(csv.DictReader(io.StringIO(invoices_csv([invoice]))))

    assert list(rows[0]) == CSV_HEADER
    assert {row["api_key"] for row in rows} == {"globex-prod", "globex-batch"}
    prod = next(row for row in rows if row["api_key"] == "globex-prod")
    assert prod["invoice"] == invoice.number and prod["period"] == "2026-03"
    assert Decimal(prod["amount_exact"]) == Decimal("1.234567891234")
    assert prod["amount"] == "1.23"
    assert sum(Decimal(row["amount"]) for row in rows) == invoice.subtotal


def test_pdf_renders_the_invoice_with_its_number_and_totals(invoice):
    document = invoice_pdf(invoice)

    assert document.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)
    assert invoice.number in text
    assert "Globex" in text and "March 2026" in text
    assert "USD 1.90" in text  # 1.23 + 0.50 = 1.73, markup 0.17
    assert "71.1%" in text  # verified share: 1.23 of 1.73
