"""Discrepancies in the finance admin: a list that reads at a glance (names, units, money at
stake, age) and each discrepancy as a case file: what was found, our record beside the
gateway's with the differing fields marked, the history in words, and the decisions as buttons."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Case, DecimalField, F, Q, When
from django.db.models.functions import Abs
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.access import user_is_finance
from billing.admin.common import (
    GenerationPeriodFilter,
    ReasonForm,
    badge,
    confirm_with_form,
    history_record,
)
from billing.admin.dashboard import reconciliation_overview
from billing.comparison import generation_comparison
from billing.discrepancies import ALLOWED_TRANSITIONS, discrepancy_change_status, discrepancy_request_recheck
from billing.discrepancy_kinds import MONEY_KINDS, figure_text, kind_info
from billing.models import Discrepancy, DiscrepancyEvent, DiscrepancyKind, DiscrepancyStatus
from generations.admin import BoundedCountPaginator, exact_id_search
from generations.models import GatewayRecord, Generation
from lib.errors import DomainError, admin_refusal

# The decisions finance can take on a case, in the order the buttons show.
DECISIONS = (
    ("resolve", DiscrepancyStatus.RESOLVED, "Resolve: accept the gateway's figure", "resolved it"),
    ("acknowledge", DiscrepancyStatus.ACKNOWLEDGED, "Acknowledge", "acknowledged it"),
    ("write_off", DiscrepancyStatus.WRITTEN_OFF, "Write off", "wrote it off"),
    ("reopen", DiscrepancyStatus.OPEN, "Reopen", "reopened it"),
)
DECISION_BY_NAME = {name: (status, label, words) for name, status, label, words in DECISIONS}
WORDS_BY_STATUS = {status: words for _, status, _, words in DECISIONS}
RECHECK = "recheck"


def money_at_stake():
    """|delta| for kinds measured in money, nothing for the others (tokens, yes/no)."""
    return Case(
        When(kind__in=MONEY_KINDS, then=Abs("delta")),
        default=None,
        output_field=DecimalField(max_digits=30, decimal_places=12),
    )


def case_title(discrepancy: Discrepancy) -> str:
    """"Cost differs on openrouter gen-123", or for a key-day finding "… on key X, 2026-11-03"."""
    name = kind_info(discrepancy.kind).name
    generation = discrepancy.generation if discrepancy.generation_id else None
    if generation is not None:
        return f"{name} on {generation.gateway.slug} {generation.external_id}"
    day = getattr(discrepancy, "day", None)
    return f"{name} on key {discrepancy.api_key.name}" + (f", {day:%Y-%m-%d}" if day else "")


def history_in_words(event: DiscrepancyEvent) -> str:
    who = event.by.get_username() if event.by else "Tally"
    if event.from_status == event.to_status:
        return f"{who}: {event.note}"
    if not event.from_status:
        return event.note or "Reconciliation found it." if event.by is None else f"{who} opened it: {event.note}"
    words = WORDS_BY_STATUS.get(event.to_status, f"moved it to {event.to_status}")
    return f"{who} {words}" + (f": {event.note}" if event.note else ".")


def age_text(since) -> str:
    elapsed = timezone.now() - since
    if elapsed >= timedelta(days=1):
        return f"{elapsed.days} d"
    return f"{int(elapsed.total_seconds() // 3600)} h"


class KindFilter(admin.SimpleListFilter):
    """Kinds by their human names."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, kind_info(kind).name) for kind in DiscrepancyKind.values]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = (
        "generation_id_display",
        "team",
        "kind_display",
        "severity_badge",
        "delta_display",
        "status_badge",
        "age",
    )
    list_filter = (
        KindFilter,
        "severity",
        "status",
        ("api_key__gateway", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
        GenerationPeriodFilter,
    )
    list_select_related = ("generation__gateway", "api_key__gateway", "team")
    search_fields = ("generation__external_id", "generation__model")
    search_help_text = "A generation id (or part of one), or a model."
    paginator = BoundedCountPaginator
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    actions = ["acknowledge", "resolve", "write_off", "recheck"]
    change_form_template = "admin/billing/discrepancy/change_form.html"
    fields = ("kind", "severity", "status")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(money_at_stake=money_at_stake())

    def has_finance_permission(self, request) -> bool:
        return user_is_finance(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("overview/", view(reconciliation_overview), name="billing_reconciliation_overview"),
            path("<int:pk>/decide/", view(self.decide_view), name="billing_discrepancy_decide"),
        ] + super().get_urls()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = exact_id_search(Generation.objects.all(), term).values("pk")
        if Discrepancy.objects.filter(generation__in=exact).exists():
            return queryset.filter(generation__in=exact), False
        partial = Q(generation__external_id__icontains=term) | Q(generation__model__icontains=term)
        return queryset.filter(partial), False

    # ---- the case file ----------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            # Nothing on a discrepancy is edited by hand: decisions go through decide_view.
            return HttpResponseRedirect(request.path)
        discrepancy = self.get_object(request, object_id)
        extra = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        if discrepancy is not None:
            extra.update(self._case_file(request, discrepancy))
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _case_file(self, request: HttpRequest, discrepancy: Discrepancy) -> dict:
        info = kind_info(discrepancy.kind)
        generation = (
            Generation.objects.select_related("gateway", "api_key").get(pk=discrepancy.generation_id)
            if discrepancy.generation_id
            else None
        )
        record = GatewayRecord.objects.filter(generation=generation).first() if generation else None
        allowed = ALLOWED_TRANSITIONS.get(discrepancy.status, set())
        can_decide = self.has_change_permission(request, discrepancy)
        events = discrepancy.events.select_related("by").order_by("at", "id")
        return {
            "title": case_title(discrepancy),
            "subtitle": None,
            "case": discrepancy,
            "kind": info,
            "figures": [
                ("Expected (ours)", figure_text(discrepancy.expected, info.unit)),
                ("Actual (gateway)", figure_text(discrepancy.actual, info.unit)),
                ("Difference", figure_text(discrepancy.delta, info.unit, signed=True)),
            ],
            "generation": generation,
            "key_day": getattr(discrepancy, "day", None),
            "key_day_model": getattr(discrepancy, "model", ""),
            "gateway_record": record,
            "comparison": generation_comparison(generation, record) if generation else [],
            "history": [(event.at, history_in_words(event)) for event in events],
            "decisions": [(name, label) for name, status, label, _ in DECISIONS if status in allowed]
            if can_decide
            else [],
            "can_recheck": can_decide and generation is not None,
            "reason_form": ReasonForm(),
            "age": age_text(discrepancy.created_at),
        }

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST from the case file: a decision (or a re-check) with its reason."""
        discrepancy = get_object_or_404(Discrepancy, pk=pk)
        page = reverse("admin:billing_discrepancy_change", args=[discrepancy.pk])
        if request.method != "POST" or not self.has_change_permission(request, discrepancy):
            return HttpResponseRedirect(page)
        decision = request.POST.get("decision", "")
        reason = request.POST.get("reason", "")
        try:
            if decision == RECHECK:
                discrepancy_request_recheck(discrepancy=discrepancy, by=request.user, reason=reason)
                words = f"Re-check requested: {reason.strip()}"
            elif decision in DECISION_BY_NAME:
                status, label, _ = DECISION_BY_NAME[decision]
                discrepancy_change_status(discrepancy=discrepancy, to_status=status, by=request.user, reason=reason)
                words = f"{label}: {reason.strip()}"
            else:
                self.message_user(request, "Choose one of the buttons.", messages.ERROR)
                return HttpResponseRedirect(page)
        except DomainError as error:
            admin_refusal(self, request, error)
            return HttpResponseRedirect(page)
        history_record(request, discrepancy, words)
        self.message_user(request, words, messages.SUCCESS)
        return HttpResponseRedirect(page)

    # ---- the list ---------------------------------------------------------------------------

    @admin.display(description="Generation", ordering="generation__external_id")
    def generation_id_display(self, discrepancy: Discrepancy) -> str:
        if not discrepancy.generation_id:
            day = getattr(discrepancy, "day", None)
            return f"key {discrepancy.api_key.name}" + (f", {day:%Y-%m-%d}" if day else "")
        generation = discrepancy.generation
        return format_html('<span class="tally-id" title="{}">{}</span>', generation.external_id, generation.external_id)

    @admin.display(description="Kind", ordering="kind")
    def kind_display(self, discrepancy: Discrepancy) -> str:
        info = kind_info(discrepancy.kind)
        return format_html('<span title="{}">{}</span>', info.explanation, info.name)

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, discrepancy: Discrepancy) -> str:
        return badge(discrepancy.severity, discrepancy.get_severity_display())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, discrepancy: Discrepancy) -> str:
        return badge(discrepancy.status, discrepancy.get_status_display())

    @admin.display(description="Difference", ordering=F("money_at_stake").desc(nulls_last=True))
    def delta_display(self, discrepancy: Discrepancy) -> str:
        unit = kind_info(discrepancy.kind).unit
        return format_html('<span class="tally-money">{}</span>', figure_text(discrepancy.delta, unit, signed=True))

    @admin.display(description="Age", ordering="created_at")
    def age(self, discrepancy: Discrepancy) -> str:
        return age_text(discrepancy.created_at)

    # ---- actions on selections --------------------------------------------------------------

    def _change_status(self, request, queryset, *, action: str, title: str, to_status: str):
        def apply(discrepancy: Discrepancy, data: dict) -> str:
            discrepancy_change_status(discrepancy=discrepancy, to_status=to_status, by=request.user, reason=data["reason"])
            return f"{title}: {data['reason'].strip()}"

        return confirm_with_form(
            self, request, queryset, action=action, title=title, form_class=ReasonForm, apply=apply
        )

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request, queryset):
        return self._change_status(
            request, queryset, action="acknowledge", title="Acknowledge", to_status=DiscrepancyStatus.ACKNOWLEDGED
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

    @admin.action(description="Write off", permissions=["finance"])
    def write_off(self, request, queryset):
        return self._change_status(
            request, queryset, action="write_off", title="Write off", to_status=DiscrepancyStatus.WRITTEN_OFF
        )

    @admin.action(description="Re-check now (queue a new lookup)", permissions=["change"])
    def recheck(self, request, queryset):
        def apply(discrepancy: Discrepancy, data: dict) -> str:
            discrepancy_request_recheck(discrepancy=discrepancy, by=request.user, reason=data["reason"])
            return f"Re-check requested: {data['reason'].strip()}"

        return confirm_with_form(
            self, request, queryset, action="recheck", title="Re-check generations now", form_class=ReasonForm, apply=apply
        )
