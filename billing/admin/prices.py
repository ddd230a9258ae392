"""List prices in the finance admin."""

from django.contrib import admin

from billing.models import ModelPrice


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("gateway", "model", "prompt", "completion", "cache_read", "cache_write", "valid_from")
    list_filter = ("gateway",)
    search_fields = ("model",)
    list_select_related = ("gateway",)
