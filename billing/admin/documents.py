"""An invoice's documents for finance: CSV of its lines, the PDF, and the printable page."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from billing.invoicing.document import invoice_filename
from billing.invoicing.exports import invoice_document, invoice_pdf, invoices_csv
from billing.models import Invoice


def _invoice(pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("team"), pk=pk)


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_csv_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoices_csv([invoice]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice, "csv")}"'
    return response


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_filename(invoice, "pdf")}"'
    return response


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_print(request: HttpRequest, pk: int) -> TemplateResponse:
    return TemplateResponse(request, "billing/invoice_print.html", {"document": invoice_document(_invoice(pk))})
