"""Alerts and their delivery log in the admin: read-only, failures easy to find."""

from django.contrib import admin

from billing.alerts.models import Alert, AlertDelivery


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    can_delete = False
    fields = ("channel", "recipients", "status", "attempts", "response_status", "last_error", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "subject", "team", "threshold", "window")
    list_filter = ("kind",)
    search_fields = ("subject",)
    list_select_related = ("team",)
    date_hierarchy = "created_at"
    readonly_fields = ("kind", "scope", "window", "threshold", "team", "api_key", "gateway", "subject", "message", "created_at")
    inlines = [AlertDeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "alert", "channel", "status", "attempts", "response_status", "last_error")
    list_filter = ("status", "channel")
    list_select_related = ("alert",)
    readonly_fields = (
        "alert", "channel", "recipients", "status", "attempts", "response_status", "last_error", "created_at", "sent_at"
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
