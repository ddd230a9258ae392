"""List prices in the finance admin."""

from django.contrib import admin

from billing.models import ModelPrice


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
