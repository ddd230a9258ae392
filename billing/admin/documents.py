"""An invoice's documents for finance: CSV of its lines, the PDF, and the printable page."""

from django.contrib.auth.decorators import permission_required, user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from accounts.access import user_is_finance
from billing.invoicing.document import invoice_filename
from billing.invoicing.exports import invoice_document, invoice_pdf, invoices_csv
from billing.models import Invoice


def finance_only(view):
    """Exports are finance powers: active staff in the Finance group, or superusers (403 otherwise)."""

    def check(user) -> bool:
        if not user_is_finance(user):
            raise PermissionDenied
        return True

    return user_passes_test(check)(view)


def _invoice(pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("team"), pk=pk)


@finance_only
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_csv_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoices_csv([invoice]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice, "csv")}"'
    return response


@finance_only
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_filename(invoice, "pdf")}"'
    return response


@finance_only
@permission_required("billing.view_invoice", raise_exception=True)
def invoice_print(request: HttpRequest, pk: int) -> TemplateResponse:
    return TemplateResponse(request, "billing/invoice_print.html", {"document": invoice_document(_invoice(pk))})
