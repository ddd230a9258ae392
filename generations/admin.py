"""Read-only admin for generations and gateway records, built for tables of tens of millions of
rows: no full counts, a paginator that counts at most a bounded number of rows, exact-id search
through the (gateway, external_id) index, filters only on indexed columns."""

from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils.html import format_html

from lib.exact_json import dumps_exact, loads_exact
from generations.models import GatewayRecord, Generation

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows (a LIMIT subquery), so paging a huge table never
    scans it all; past the limit the admin shows the first pages only."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_LIMIT + 1].count()


class HugeTableAdmin(admin.ModelAdmin):
    """Defaults for admin pages over very large tables: read-only, cheap counts and paging."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def json_pretty(raw: str) -> str:
    """The raw body indented for reading, numbers exactly as the gateway wrote them."""
    try:
        return dumps_exact(loads_exact(raw), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return raw


def raw_json_html(record: GatewayRecord) -> str:
    return format_html('<pre class="tally-json">{}</pre>', json_pretty(record.raw))


def exact_id_search(queryset, search_term: str):
    """Generations with exactly this gateway id, on any gateway (GenerationQuerySet.with_external_id)."""
    term = search_term.strip()
    if not term:
        return queryset
    return queryset.with_external_id(term)


class GatewayRecordInline(admin.StackedInline):
    model = GatewayRecord
    can_delete = False
    extra = 0
    max_num = 0
    fields = (
        ("served_model", "provider", "fetched_at"),
        ("total_cost", "usage", "upstream_inference_cost", "cache_discount", "credits_used"),
        ("tokens_prompt", "tokens_completion", "tokens_cached", "tokens_cache_write", "tokens_reasoning"),
        ("is_byok", "cancelled", "streamed", "finish_reason", "latency_ms"),
        "key_hash",
        "raw_pretty",
    )
    readonly_fields = [name for group in fields for name in (group if isinstance(group, tuple) else (group,))]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Raw JSON as received")
    def raw_pretty(self, record: GatewayRecord) -> str:
        return raw_json_html(record)


@admin.register(Generation)
class GenerationAdmin(HugeTableAdmin):
    # What finance reads first fits 1366 px: id, key, model, when, cost, charged and state
    # (billing.admin.generations writes the amounts as money).
    list_display = ("id_display", "api_key", "model", "created_at", "cost", "charged_cost", "state")
    list_filter = ("state", "gateway", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("gateway", "team", "api_key")
    search_fields = ("external_id", "model")
    search_help_text = "A generation id (exact, or part of one), or a model."
    ordering = ("-pk",)
    inlines = [GatewayRecordInline]
    readonly_fields = [field.name for field in Generation._meta.fields]

    def get_search_results(self, request, queryset, search_term):
        """An exact id through the (gateway, external_id) index first; only when nothing has that
        id, part of an id or of a model name (a scan, bounded by the page's LIMIT)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = exact_id_search(queryset, term)
        if exact.exists():
            return exact, False
        return queryset.filter(Q(external_id__icontains=term) | Q(model__icontains=term)), False

    @admin.display(description="Generation", ordering="external_id")
    def id_display(self, generation: Generation) -> str:
        return format_html('<span class="tally-id" title="{}">{}</span>', generation.external_id, generation.external_id)


@admin.register(GatewayRecord)
class GatewayRecordAdmin(HugeTableAdmin):
    list_display = ("generation", "served_model", "provider", "total_cost", "credits_used", "fetched_at")
    list_select_related = ("generation",)
    search_fields = ("=generation__external_id",)
    ordering = ("-pk",)
    raw_id_fields = ("generation",)
    readonly_fields = [field.name for field in GatewayRecord._meta.fields if field.name != "raw"] + ["raw_pretty"]
    exclude = ("raw",)

    @admin.display(description="Raw JSON as received")
    def raw_pretty(self, record: GatewayRecord) -> str:
        return raw_json_html(record)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        generations = exact_id_search(Generation.objects.all(), term).values("pk")
        return queryset.filter(generation__in=generations), False
