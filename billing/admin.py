"""The finance admin: invoices, discrepancies, prices, and the reconciliation overview.

Every change of an invoice or a discrepancy goes through a service (billing.invoicing,
billing.discrepancies) that records who, when and why; the admin only asks for the reason.
"""

from collections.abc import Callable
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing import admin_views
from billing.discrepancies import discrepancy_change_status, discrepancy_request_recheck
from billing.invoicing.drafting import InvoiceStateError, invoice_redraft
from billing.invoicing.exports import invoice_title, invoices_csv, percent_display
from billing.invoicing.finalizing import invoice_finalize
from billing.invoicing.periods import period_bounds, period_of, period_previous
from billing.invoicing.voiding import invoice_void
from billing.models import (
    FROZEN_INVOICE_STATUSES,
    Discrepancy,
    DiscrepancyEvent,
    DiscrepancyStatus,
    Invoice,
    InvoiceLine,
    ModelPrice,
)
from generations.admin import BoundedCountPaginator, exact_id_search
from generations.models import Generation
from lib.errors import DomainError, admin_refusal

# Finance tables are wide; the page needs the room more than a second menu.
admin.site.enable_nav_sidebar = False
admin.site.site_header = "Tally finance"
admin.site.site_title = "Tally finance"


def badge(value: str, label: str) -> str:
    return format_html('<span class="tally-badge tally-badge-{}">{}</span>', value, label)


def money(amount, currency: str = "USD") -> str:
    if amount is None:
        return "—"
    return format_html('<span class="tally-money">{}</span>', f"{amount:,.2f}")


def exact_money(amount) -> str:
    if amount is None:
        return "—"
    return format_html('<span class="tally-money">{}</span>', f"{amount.normalize():f}" if amount else "0")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Kept in the history.")


class FinalizeForm(forms.Form):
    override = forms.BooleanField(
        required=False, label="Override: finalize even though generations of the period are not settled"
    )
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Required with an override."
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("override") and not (cleaned.get("reason") or "").strip():
            raise ValidationError("Give the reason for the override.")
        return cleaned


def confirm_with_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    form_class: type[forms.Form],
    apply: Callable[[object, dict], None],
) -> HttpResponse | None:
    """An admin action with a confirmation page that asks for a reason (and options), then
    applies `apply` to each selected object and reports successes and refusals."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data)
                done += 1
            except DomainError as error:
                admin_refusal(modeladmin, request, error, about=obj)
        if done:
            modeladmin.message_user(request, f"{title}: {done} done.", messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "objects": queryset,
        "form": form,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/billing/confirm_action.html", context)


class PeriodFilter(admin.SimpleListFilter):
    """The last twelve billing months."""

    title = "period"
    parameter_name = "period"
    field = "period"

    def lookups(self, request, model_admin):
        month = period_of(timezone.now().date())
        choices = []
        for _ in range(12):
            choices.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
            month = period_previous(month)
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        start, end = period_bounds(timezone.datetime.strptime(self.value(), "%Y-%m").date())
        if self.field == "period":
            return queryset.filter(period=start.date())
        return queryset.filter(**{f"{self.field}__gte": start, f"{self.field}__lt": end})


class GenerationPeriodFilter(PeriodFilter):
    field = "generation__created_at"


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
        "amount_exact",
        "amount",
        "verified_amount",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # lines are computed from the roll-ups, and frozen once finalized


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
    inlines = [InvoiceLineInline]
    actions = ["finalize", "void", "redraft", "export_csv", "open_pdf"]
    change_form_template = "admin/billing/invoice/change_form.html"
    fieldsets = (
        (None, {"fields": ("team", "period", "status", "number", "currency")}),
        ("Amounts", {"fields": ("subtotal", "markup", "total", "verified_amount", "verified_share_display")}),
        (
            "History",
            {
                "fields": (
                    "drafted_at",
                    "finalized_at",
                    "finalized_by",
                    "override_reason",
                    "voided_at",
                    "voided_by",
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
        "subtotal",
        "markup",
        "total",
        "verified_amount",
        "verified_share_display",
        "drafted_at",
        "finalized_at",
        "finalized_by",
        "override_reason",
        "voided_at",
        "voided_by",
        "void_reason",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_count=Count("lines"))

    def has_add_permission(self, request) -> bool:
        return False  # drafts come from close_period and the monthly job

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status in FROZEN_INVOICE_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # void instead: numbers and history stay

    def has_finalize_permission(self, request) -> bool:
        return request.user.has_perm("billing.finalize_invoice")

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("billing.void_invoice")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/csv/", view(admin_views.invoice_csv_download), name="billing_invoice_csv"),
            path("<int:pk>/pdf/", view(admin_views.invoice_pdf_download), name="billing_invoice_pdf"),
            path("<int:pk>/print/", view(admin_views.invoice_print), name="billing_invoice_print"),
        ] + super().get_urls()

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
        return money(invoice.subtotal)

    @admin.display(description="Markup", ordering="markup")
    def markup_display(self, invoice: Invoice) -> str:
        return money(invoice.markup)

    @admin.display(description="Total (USD)", ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return money(invoice.total)

    @admin.display(description="Verified")
    def verified_share_display(self, invoice: Invoice) -> str:
        share = invoice.verified_share
        level = "good" if share >= 1 else "warn" if share >= 0.9 else "bad"
        return format_html(
            '<span class="tally-share tally-share-{}"><span style="width:{}%"></span></span> {}',
            level,
            min(100, max(0, int(share * 100))),
            percent_display(share),
        )

    @admin.display(description="Export")
    def exports(self, invoice: Invoice) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}" target="_blank">PDF</a> · <a href="{}" target="_blank">Print</a>',
            reverse("admin:billing_invoice_csv", args=[invoice.pk]),
            reverse("admin:billing_invoice_pdf", args=[invoice.pk]),
            reverse("admin:billing_invoice_print", args=[invoice.pk]),
        )

    @admin.action(description="Finalize the selected invoices", permissions=["finalize"])
    def finalize(self, request, queryset):
        def apply(invoice: Invoice, data: dict) -> None:
            reason = data["reason"] if data.get("override") else ""
            invoice_finalize(invoice=invoice, by=request.user, override_reason=reason)

        return confirm_with_form(
            self, request, queryset, action="finalize", title="Finalize invoices", form_class=FinalizeForm, apply=apply
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
            apply=lambda invoice, data: invoice_void(invoice=invoice, by=request.user, reason=data["reason"]),
        )

    @admin.action(description="Rebuild the selected drafts from current figures", permissions=["finalize"])
    def redraft(self, request, queryset):
        for invoice in queryset:
            try:
                invoice_redraft(invoice=invoice)
            except InvoiceStateError as error:
                admin_refusal(self, request, error)

    @admin.action(description="Export the selected invoices' lines as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(invoices_csv(queryset.order_by("period", "team__name")), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="invoice-lines.csv"'
        return response

    @admin.action(description="Open the PDF of the selected invoice", permissions=["view"])
    def open_pdf(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one invoice to open its PDF.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:billing_invoice_pdf", args=[queryset.get().pk]))


class DiscrepancyEventInline(admin.TabularInline):
    model = DiscrepancyEvent
    extra = 0
    can_delete = False
    fields = ("at", "by", "from_status", "to_status", "note")
    readonly_fields = fields
    verbose_name = "history entry"
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = (
        "generation_id_display",
        "gateway",
        "team",
        "api_key",
        "kind",
        "severity_badge",
        "expected_display",
        "actual_display",
        "delta_display",
        "status_badge",
        "age",
    )
    list_filter = (
        "kind",
        "severity",
        "status",
        ("api_key__gateway", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
        GenerationPeriodFilter,
    )
    list_select_related = ("generation", "api_key__gateway", "team")
    search_fields = ("=generation__external_id",)
    search_help_text = "Exact generation id, as the gateway gave it."
    paginator = BoundedCountPaginator
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    raw_id_fields = ("generation",)
    inlines = [DiscrepancyEventInline]
    actions = ["acknowledge", "resolve", "write_off", "recheck"]
    fields = (
        "generation_link",
        "day",
        "model",
        "kind",
        "severity",
        "expected",
        "actual",
        "delta",
        "detail",
        "status",
        "created_at",
        "updated_at",
        "status_changed_at",
        "status_changed_by",
        "status_reason",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        overview = self.admin_site.admin_view(admin_views.reconciliation_overview)
        return [path("overview/", overview, name="billing_reconciliation_overview")] + super().get_urls()

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        generations = exact_id_search(Generation.objects.all(), search_term).values("pk")
        return queryset.filter(generation__in=generations), False

    @admin.display(description="Generation or day", ordering="generation__external_id")
    def generation_id_display(self, discrepancy: Discrepancy) -> str:
        if discrepancy.generation_id is None:
            return f"{discrepancy.day} · {discrepancy.model}"
        return discrepancy.generation.external_id

    @admin.display(description="Generation")
    def generation_link(self, discrepancy: Discrepancy) -> str:
        if discrepancy.generation_id is None:
            return "None: a finding on the key's day (coverage check)"
        url = reverse("admin:generations_generation_change", args=[discrepancy.generation_id])
        return format_html('<a href="{}">{}</a>', url, discrepancy.generation)

    @admin.display(description="Gateway")
    def gateway(self, discrepancy: Discrepancy):
        return discrepancy.api_key.gateway

    @admin.display(description="Team")
    def team(self, discrepancy: Discrepancy):
        return discrepancy.team

    @admin.display(description="Key")
    def api_key(self, discrepancy: Discrepancy):
        return discrepancy.api_key.name

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, discrepancy: Discrepancy) -> str:
        return badge(discrepancy.severity, discrepancy.get_severity_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, discrepancy: Discrepancy) -> str:
        return badge(discrepancy.status, discrepancy.get_status_display())

    @admin.display(description="Expected", ordering="expected")
    def expected_display(self, discrepancy: Discrepancy) -> str:
        return exact_money(discrepancy.expected)

    @admin.display(description="Actual", ordering="actual")
    def actual_display(self, discrepancy: Discrepancy) -> str:
        return exact_money(discrepancy.actual)

    @admin.display(description="Delta", ordering="delta")
    def delta_display(self, discrepancy: Discrepancy) -> str:
        return exact_money(discrepancy.delta)

    @admin.display(description="Age", ordering="created_at")
    def age(self, discrepancy: Discrepancy) -> str:
        elapsed = timezone.now() - discrepancy.created_at
        if elapsed >= timedelta(days=1):
            return f"{elapsed.days} d"
        return f"{int(elapsed.total_seconds() // 3600)} h"

    def _change_status(self, request, queryset, *, action: str, title: str, to_status: str):
        return confirm_with_form(
            self,
            request,
            queryset,
            action=action,
            title=title,
            form_class=ReasonForm,
            apply=lambda discrepancy, data: discrepancy_change_status(
                discrepancy=discrepancy, to_status=to_status, by=request.user, reason=data["reason"]
            ),
        )

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request, queryset):
        return self._change_status(
            request,
            queryset,
            action="acknowledge",
            title="Acknowledge discrepancies",
            to_status=DiscrepancyStatus.ACKNOWLEDGED,
        )

    @admin.action(description="Resolve (accept the gateway's figure)", permissions=["change"])
    def resolve(self, request, queryset):
        return self._change_status(
            request,
            queryset,
            action="resolve",
            title="Resolve: accept the gateway's figure",
            to_status=DiscrepancyStatus.RESOLVED,
        )

    @admin.action(description="Write off", permissions=["change"])
    def write_off(self, request, queryset):
        return self._change_status(
            request,
            queryset,
            action="write_off",
            title="Write off discrepancies",
            to_status=DiscrepancyStatus.WRITTEN_OFF,
        )

    @admin.action(description="Re-check now (queue a new lookup)", permissions=["change"])
    def recheck(self, request, queryset):
        return confirm_with_form(
            self,
            request,
            queryset,
            action="recheck",
            title="Re-check generations now",
            form_class=ReasonForm,
            apply=lambda discrepancy, data: discrepancy_request_recheck(
                discrepancy=discrepancy, by=request.user, reason=data["reason"]
            ),
        )


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("gateway", "model", "prompt", "completion", "cache_read", "cache_write", "valid_from", "price_source")
    list_filter = ("gateway", "source")
    search_fields = ("model",)
    list_select_related = ("gateway",)

    @admin.display(description="source", ordering="source")
    def price_source(self, price: ModelPrice) -> str:
        """Import or gateway list (with when it was read). Prices the catalog gives are not
        stored: the reconciliation overview shows them under "List prices in force"."""
        return price.source_description


# Coverage results have their own admin module, beside the coverage code.
from billing.coverage import admin as coverage_admin  # noqa: E402, F401
