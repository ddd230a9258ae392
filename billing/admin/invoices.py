"""Invoices in the finance admin: the list with its totals, the invoice page with its actions
(finalize, void, redraft or replace, PDF, CSV, print), and the same actions on selections."""

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.access import user_is_finance
from billing.admin.common import (
    FinalizeForm,
    PeriodFilter,
    ReasonForm,
    badge,
    confirm_with_form,
    history_record,
    money_cell,
)
from billing.admin.documents import invoice_csv_download, invoice_pdf_download, invoice_print
from billing.invoicing.document import invoice_terms
from billing.invoicing.drafting import invoice_redraft
from billing.invoicing.exports import invoice_title, invoices_csv
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.voiding import invoice_replace, invoice_void
from billing.models import FROZEN_INVOICE_STATUSES, Invoice, InvoiceLine, InvoiceStatus
from billing.money import ZERO_CENTS, invoice_money_text, percent_text, plain_decimal, rate_text, share_width
from lib.errors import DomainError, admin_refusal


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = (
        "kind",
        "api_key",
        "model",
        "description",
        "generations",
        "tokens",
        "amount_exact_text",
        "amount_text",
        "verified_amount_text",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # lines are computed from the roll-ups, and frozen once finalized

    @admin.display(description="Exact amount")
    def amount_exact_text(self, line: InvoiceLine) -> str:
        return plain_decimal(line.amount_exact)

    @admin.display(description="Amount")
    def amount_text(self, line: InvoiceLine) -> str:
        return invoice_money_text(line.amount, line.invoice.currency)

    @admin.display(description="Verified")
    def verified_amount_text(self, line: InvoiceLine) -> str:
        return invoice_money_text(line.verified_amount, line.invoice.currency)


def _finalize(invoice: Invoice, data: dict, user) -> str:
    reason = data["reason"] if data.get("override") else ""
    finalized = invoice_finalize(invoice=invoice, by=user, override_reason=reason)
    if finalized.override_reason:
        return f"Finalized as {finalized.number} with an override: {finalized.override_reason}"
    return f"Finalized as {finalized.number}."


def _void(invoice: Invoice, data: dict, user) -> str:
    invoice_void(invoice=invoice, by=user, reason=data["reason"])
    return f"Voided: {data['reason'].strip()}"


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "team",
        "period_display",
        "status_badge",
        "line_count",
        "subtotal_display",
        "markup_display",
        "total_display",
        "verified_share_display",
        "finalized_at",
        "exports",
    )
    list_filter = ("status", "team", PeriodFilter)
    search_fields = ("number", "team__name", "team__slug")
    list_select_related = ("team",)
    date_hierarchy = "period"
    inlines = [InvoiceLineInline]
    actions = ["finalize", "void", "redraft", "export_csv", "open_pdf"]
    change_form_template = "admin/billing/invoice/change_form.html"
    change_list_template = "admin/billing/invoice/change_list.html"
    fieldsets = (
        (None, {"fields": ("team", "period", "status", "number", "currency", "draft_error")}),
        (
            "Amounts",
            {"fields": ("subtotal_text", "markup_text", "total_text", "verified_amount_text", "verified_share_display")},
        ),
        (
            "History",
            {
                "fields": (
                    "drafted_at",
                    "finalized_at",
                    "finalized_by_name",
                    "override_reason",
                    "voided_at",
                    "voided_by_name",
                    "void_reason",
                )
            },
        ),
    )
    readonly_fields = (
        "team",
        "period",
        "status",
        "number",
        "currency",
        "subtotal_text",
        "markup_text",
        "total_text",
        "verified_amount_text",
        "verified_share_display",
        "drafted_at",
        "finalized_at",
        "finalized_by_name",
        "override_reason",
        "voided_at",
        "voided_by_name",
        "void_reason",
        "draft_error",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("finalized_by", "voided_by").annotate(line_count=Count("lines"))

    def has_add_permission(self, request) -> bool:
        return False  # drafts come from close_period and the monthly job

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status in FROZEN_INVOICE_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # void instead: numbers and history stay

    def has_finance_permission(self, request) -> bool:
        return user_is_finance(request.user)

    def has_finalize_permission(self, request) -> bool:
        return request.user.has_perm("billing.finalize_invoice")

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("billing.void_invoice")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/csv/", view(invoice_csv_download), name="billing_invoice_csv"),
            path("<int:pk>/pdf/", view(invoice_pdf_download), name="billing_invoice_pdf"),
            path("<int:pk>/print/", view(invoice_print), name="billing_invoice_print"),
            path("<int:pk>/finalize/", view(self.finalize_view), name="billing_invoice_finalize"),
            path("<int:pk>/void/", view(self.void_view), name="billing_invoice_void"),
            path("<int:pk>/redraft/", view(self.redraft_view), name="billing_invoice_redraft"),
        ] + super().get_urls()

    # ---- the invoice page -------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, object_id)
        extra = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        if invoice is not None:
            extra.update(
                title=f"Invoice {invoice_title(invoice)}",
                subtitle=None,
                can_finalize=invoice.status == InvoiceStatus.DRAFT and self.has_finalize_permission(request),
                can_void=invoice.status != InvoiceStatus.VOID and self.has_void_permission(request),
                can_redraft=self.has_finalize_permission(request) and invoice.status != InvoiceStatus.FINALIZED,
            )
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _object_action(self, request: HttpRequest, pk: int, *, title: str, form_class, apply, allowed: bool):
        invoice = get_object_or_404(Invoice.objects.select_related("team"), pk=pk)
        page = reverse("admin:billing_invoice_change", args=[invoice.pk])
        if not allowed:
            self.message_user(request, "You may not do that.", messages.ERROR)
            return HttpResponseRedirect(page)
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                history_record(request, invoice, apply(invoice, form.cleaned_data, request.user))
            except DomainError as error:
                admin_refusal(self, request, error)
            else:
                self.message_user(request, f"{title}: done.", messages.SUCCESS)
                return HttpResponseRedirect(page)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {invoice_title(invoice)}",
            "objects": [invoice],
            "form": form,
            "opts": self.model._meta,
            "cancel_url": page,
        }
        return TemplateResponse(request, "admin/billing/confirm_action.html", context)

    def finalize_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._object_action(
            request,
            pk,
            title="Finalize",
            form_class=FinalizeForm,
            apply=_finalize,
            allowed=self.has_finalize_permission(request),
        )

    def void_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._object_action(
            request, pk, title="Void", form_class=ReasonForm, apply=_void, allowed=self.has_void_permission(request)
        )

    def redraft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST: rebuild a draft from current figures, or replace a void invoice with a new draft."""
        invoice = get_object_or_404(Invoice.objects.select_related("team"), pk=pk)
        page = reverse("admin:billing_invoice_change", args=[invoice.pk])
        if request.method != "POST" or not self.has_finalize_permission(request):
            return HttpResponseRedirect(page)
        try:
            if invoice.status == InvoiceStatus.VOID:
                replacement = invoice_replace(invoice=invoice)
                history_record(request, invoice, f"Replaced by {invoice_title(replacement)}.")
                history_record(request, replacement, f"Drafted to replace {invoice_title(invoice)}.")
                self.message_user(request, f"{invoice_title(replacement)} replaces {invoice_title(invoice)}.")
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[replacement.pk]))
            invoice_redraft(invoice=invoice)
            history_record(request, invoice, "Redrafted from the current figures.")
            self.message_user(request, "Rebuilt from the current figures.", messages.SUCCESS)
        except DomainError as error:
            admin_refusal(self, request, error)
        return HttpResponseRedirect(page)

    # ---- the list ---------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        # A draft that could not be rebuilt keeps its old figures: finance must see that at once.
        for invoice in Invoice.objects.filter(status=InvoiceStatus.DRAFT).exclude(draft_error="")[:20]:
            messages.warning(request, f"{invoice}: {invoice.draft_error}")
        response = super().changelist_view(request, extra_context)
        if hasattr(response, "context_data") and "cl" in response.context_data:
            shown = response.context_data["cl"].queryset.exclude(status=InvoiceStatus.VOID)
            sums = shown.order_by().aggregate(subtotal=Sum("subtotal"), markup=Sum("markup"), total=Sum("total"))
            response.context_data["totals"] = {
                name: invoice_money_text(value or ZERO_CENTS) for name, value in sums.items()
            }
        return response

    @admin.display(description="Invoice", ordering="number")
    def title(self, invoice: Invoice) -> str:
        return invoice_title(invoice)

    @admin.display(description="Period", ordering="period")
    def period_display(self, invoice: Invoice) -> str:
        return f"{invoice.period:%Y-%m}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, invoice: Invoice) -> str:
        return badge(invoice.status, invoice.get_status_display())

    @admin.display(description="Lines", ordering="line_count")
    def line_count(self, invoice: Invoice) -> int:
        return invoice.line_count

    @admin.display(description="Subtotal", ordering="subtotal")
    def subtotal_display(self, invoice: Invoice) -> str:
        return money_cell(invoice.subtotal, invoice.currency)

    @admin.display(description="Markup", ordering="markup")
    def markup_display(self, invoice: Invoice) -> str:
        return money_cell(invoice.markup, invoice.currency)

    @admin.display(description="Total", ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return money_cell(invoice.total, invoice.currency)

    @admin.display(description="Subtotal")
    def subtotal_text(self, invoice: Invoice) -> str:
        return invoice_money_text(invoice.subtotal, invoice.currency)

    @admin.display(description="Markup")
    def markup_text(self, invoice: Invoice) -> str:
        return f"{invoice_money_text(invoice.markup, invoice.currency)} ({rate_text(invoice_terms(invoice).markup_rate)})"

    @admin.display(description="Total")
    def total_text(self, invoice: Invoice) -> str:
        return invoice_money_text(invoice.total, invoice.currency)

    @admin.display(description="Verified amount")
    def verified_amount_text(self, invoice: Invoice) -> str:
        return invoice_money_text(invoice.verified_amount, invoice.currency)

    @admin.display(description="Verified")
    def verified_share_display(self, invoice: Invoice) -> str:
        share = invoice.verified_share
        if share is None:
            return percent_text(share)
        level = "good" if share >= 1 else "warn" if share >= 0.9 else "bad"
        return format_html(
            '<span class="tally-share tally-share-{}"><span style="width:{}"></span></span> {}',
            level,
            share_width(share),
            percent_text(share),
        )

    @admin.display(description="Finalized by")
    def finalized_by_name(self, invoice: Invoice) -> str:
        # Plain text, not a link: finance may not open user accounts.
        return invoice.finalized_by.get_username() if invoice.finalized_by else "—"

    @admin.display(description="Voided by")
    def voided_by_name(self, invoice: Invoice) -> str:
        return invoice.voided_by.get_username() if invoice.voided_by else "—"

    @admin.display(description="Export")
    def exports(self, invoice: Invoice) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}" target="_blank">PDF</a> · <a href="{}" target="_blank">Print</a>',
            reverse("admin:billing_invoice_csv", args=[invoice.pk]),
            reverse("admin:billing_invoice_pdf", args=[invoice.pk]),
            reverse("admin:billing_invoice_print", args=[invoice.pk]),
        )

    # ---- actions on selections --------------------------------------------------------------

    @admin.action(description="Finalize the selected invoices", permissions=["finalize"])
    def finalize(self, request, queryset):
        return confirm_with_form(
            self,
            request,
            queryset,
            action="finalize",
            title="Finalize invoices",
            form_class=FinalizeForm,
            apply=lambda invoice, data: _finalize(invoice, data, request.user),
        )

    @admin.action(description="Void the selected invoices", permissions=["void"])
    def void(self, request, queryset):
        return confirm_with_form(
            self,
            request,
            queryset,
            action="void",
            title="Void invoices",
            form_class=ReasonForm,
            apply=lambda invoice, data: _void(invoice, data, request.user),
        )

    @admin.action(description="Rebuild the selected drafts from current figures", permissions=["finalize"])
    def redraft(self, request, queryset):
        for invoice in queryset:
            try:
                invoice_redraft(invoice=invoice)
                history_record(request, invoice, "Redrafted from the current figures.")
            except DomainError as error:
                admin_refusal(self, request, error)

    @admin.action(description="Export the selected invoices' lines as CSV", permissions=["finance"])
    def export_csv(self, request, queryset):
        response = HttpResponse(invoices_csv(queryset.order_by("period", "team__name")), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="invoice-lines.csv"'
        return response

    @admin.action(description="Open the PDF of the selected invoice", permissions=["finance"])
    def open_pdf(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one invoice to open its PDF.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:billing_invoice_pdf", args=[queryset.get().pk]))
