"""The finance home: the admin index as a dashboard for a chosen month, and the reconciliation
overview per gateway, both with a month selector (?month=YYYY-MM)."""

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from billing.coverage.selectors import coverage_overview
from billing.selectors_overview import finance_dashboard, gateways_overview, open_discrepancies_by_kind
from billing.selectors_prices import RECENT_DAYS, models_price_status
from billing.views import Month, MonthError, month_from

MONTHS_TO_CHOOSE = 12


def _month(request: HttpRequest) -> tuple[Month, str]:
    """The month asked for, or this month with the reason a bad one was refused."""
    try:
        return month_from(request), ""
    except MonthError as error:
        return Month.current(), str(error)


def _month_choices() -> list[Month]:
    month, months = Month.current(), []
    for _ in range(MONTHS_TO_CHOOSE):
        months.append(month)
        month = month.previous
    return months


def dashboard_index(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin index: for finance, the month's dashboard above the usual list of models."""
    context = dict(extra_context or {})
    if request.user.has_perm("billing.view_discrepancy") or request.user.has_perm("billing.view_invoice"):
        month, month_error = _month(request)
        context.update(
            title=f"Finance, {month.title}",
            dashboard=finance_dashboard(period=month.first_day),
            month=month,
            month_error=month_error,
            month_choices=_month_choices(),
        )
    return AdminSite.index(admin.site, request, extra_context=context)


@permission_required("billing.view_discrepancy", raise_exception=True)
def reconciliation_overview(request: HttpRequest) -> TemplateResponse:
    now = timezone.now()
    month, month_error = _month(request)
    price_status = models_price_status(now=now)
    context = {
        **admin.site.each_context(request),
        "title": f"Reconciliation overview, {month.title}",
        "now": now,
        "month": month,
        "month_error": month_error,
        "month_choices": _month_choices(),
        "gateways": gateways_overview(now=now, period=month.first_day),
        "open_by_kind": open_discrepancies_by_kind(month.first_day),
        "coverage": coverage_overview(now=now),
        "price_status": price_status,
        "price_status_days": RECENT_DAYS,
        "price_missing_count": sum(row.missing for row in price_status),
    }
    return TemplateResponse(request, "admin/billing/overview.html", context)
