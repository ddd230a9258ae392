"""Hostile names never turn an invoice export into an attack: the PDF escapes every text before
ReportLab reads it as markup (no 500, no fetched URL, no planted link), and every CSV cell a
spreadsheet would run as a formula is neutralised."""

import csv
import io
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from accounts.models import Team
from billing.csv_cells import csv_text
from billing.invoicing.drafting import invoice_draft
from billing.invoicing.exports import invoice_pdf, invoices_csv
from billing.spend_exports import spend_export_lines
from tests.billing.invoice_helpers import PERIOD, make_finance_user, make_generation, make_key, make_team

pytestmark = pytest.mark.django_db


class Listener(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):
        Listener.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    Listener.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _hostile_invoice(port: int):
    team = make_team("hostile")
    Team.objects.filter(pk=team.pk).update(name='<b>Evil & Co</b> <a href="https://phish.example/pay">pay here</a>')
    team.refresh_from_db()
    key = make_key(team, name=f'<img src="http://127.0.0.1:{port}/key.png"/>')
    models = [
        f'<img src="http://127.0.0.1:{port}/model.png" width="10" height="10"/>',
        '<a href="https://phish.example/login">Click to verify your account</a>',
        "<font color=red>unclosed <b>markup & <i>",
        "=HYPERLINK(\"https://phish.example\",\"ok\")",
    ]
    for model in models:
        make_generation(key, cost="1.00", model=model)
    return invoice_draft(team=team, period=PERIOD), models, key


def test_the_pdf_shows_hostile_names_literally_and_fetches_nothing(listener):
    invoice, models, key = _hostile_invoice(listener)

    document = invoice_pdf(invoice)

    reader = PdfReader(io.BytesIO(document))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for literal in ["<img src=", "127.0.0.1", "<a href=", "Click to verify", "<font color=red>unclosed <b>markup &"]:
        assert literal in text, literal
    links = [annotation for page in reader.pages for annotation in (page.get("/Annots") or [])]
    assert links == []  # no clickable link was planted
    assert Listener.requests == []  # the server fetched nothing


def test_the_admin_pdf_of_a_hostile_invoice_answers_200(listener, client):
    invoice, _, _ = _hostile_invoice(listener)
    finance = make_finance_user()
    client.force_login(finance)

    response = client.get(f"/admin/billing/invoice/{invoice.pk}/pdf/")

    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert Listener.requests == []


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_neutralises_each_formula_start(start):
    assert csv_text(f"{start}1+1") == f"'{start}1+1"
    assert csv_text("openai/gpt-4o") == "openai/gpt-4o"


def test_every_csv_neutralises_formulas_in_text_cells(listener):
    invoice, _, key = _hostile_invoice(listener)
    make_generation(key, cost="1.00", model="@SUM(A1:A9)")

    invoice_rows = list(csv.reader(io.StringIO(invoices_csv([invoice]))))
    spend_rows = list(
        csv.reader(
            io.StringIO(
                "".join(
                    spend_export_lines(
                        api_key=key, start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC)
                    )
                )
            )
        )
    )

    for rows in (invoice_rows, spend_rows):
        cells = [cell for row in rows[1:] for cell in row]
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
        assert any(cell.startswith("'=HYPERLINK") for cell in cells)


def test_the_admin_bulk_export_neutralises_formulas(listener, client):
    invoice, _, _ = _hostile_invoice(listener)
    client.force_login(make_finance_user())

    response = client.post(
        "/admin/billing/invoice/", {"action": "export_csv", "_selected_action": [invoice.pk]}
    )

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    assert not [cell for row in rows[1:] for cell in row if cell[:1] in ("=", "+", "@")]
