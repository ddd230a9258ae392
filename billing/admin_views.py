"""Finance pages inside the admin: the reconciliation overview and an invoice's exports."""

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from billing.coverage.selectors import coverage_overview
from billing.invoicing.exports import invoice_lines, invoice_pdf, invoice_title, invoices_csv
from billing.models import Invoice
from billing.selectors_overview import gateways_overview, open_discrepancies_by_kind
from billing.selectors_prices import RECENT_DAYS, models_price_status


@permission_required("billing.view_discrepancy", raise_exception=True)
def reconciliation_overview(request: HttpRequest) -> TemplateResponse:
    now = timezone.now()
    price_status = models_price_status(now=now)
    context = {
        **admin.site.each_context(request),
        "title": "Reconciliation overview",
        "now": now,
        "gateways": gateways_overview(now=now),
        "open_by_kind": open_discrepancies_by_kind(),
        "coverage": coverage_overview(now=now),
        "price_status": price_status,
        "price_status_days": RECENT_DAYS,
        "price_missing_count": sum(row.missing for row in price_status),
    }
    return TemplateResponse(request, "admin/billing/overview.html", context)


def _invoice(pk: int) -> Invoice:
    return get_object_or_404(Invoice.objects.select_related("team"), pk=pk)


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_csv_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoices_csv([invoice]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice_title(invoice)}.csv"'
    return response


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(pk)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_title(invoice)}.pdf"'
    return response


@permission_required("billing.view_invoice", raise_exception=True)
def invoice_print(request: HttpRequest, pk: int) -> TemplateResponse:
    invoice = _invoice(pk)
    context = {"invoice": invoice, "title": invoice_title(invoice), "lines": invoice_lines(invoice)}
    return TemplateResponse(request, "billing/invoice_print.html", context)
