"""Coverage in the admin: what was checked per key and day, and each gateway day's check with
the keys the gateway listed that Tally does not know. Read-only: checks write these."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from billing.coverage.models import CoverageCheck, KeyDayCoverage
from generations.admin import HugeTableAdmin as ReadOnlyAdmin


@admin.register(KeyDayCoverage)
class KeyDayCoverageAdmin(ReadOnlyAdmin):
    list_display = ("day", "api_key", "team", "status", "gateway_requests", "tally_generations", "gateway_cost", "tally_cost", "reason", "checked_at")
    list_filter = ("status", ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("api_key", "team")
    date_hierarchy = "day"
    ordering = ("-day", "api_key")


@admin.register(CoverageCheck)
class CoverageCheckAdmin(ReadOnlyAdmin):
    list_display = ("day", "gateway", "outcome", "keys_checked", "unknown_key_count", "unattributed_cost", "checked_at")
    list_filter = ("outcome", "gateway")
    list_select_related = ("gateway",)
    fields = ("gateway", "day", "outcome", "detail", "checked_at", "keys_checked", "unknown_key_list", "unattributed_cost")
    readonly_fields = fields

    @admin.display(description="Unknown keys")
    def unknown_key_count(self, check: CoverageCheck) -> int:
        return len(check.unknown_keys or [])

    @admin.display(description="Keys at the gateway that match no Tally key")
    def unknown_key_list(self, check: CoverageCheck) -> str:
        keys = check.unknown_keys or []
        if not keys:
            return "None"
        rows = format_html_join(
            "",
            "<li><code>{}</code> {} (hash <code>{}</code>){}</li>",
            ((key.get("label", ""), key.get("name", ""), key.get("hash", ""), " disabled" if key.get("disabled") else "") for key in keys),
        )
        return format_html("<ul>{}</ul>", rows)
