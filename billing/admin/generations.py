"""Generations in the finance admin: the generations app's read-only admin, with cost and
charged written as money (generations may not import billing, so billing dresses it)."""

from django.contrib import admin

from billing.admin.common import money_cell
from generations.admin import GenerationAdmin
from generations.models import Generation


class FinanceGenerationAdmin(GenerationAdmin):
    list_display = ("id_display", "api_key", "model", "created_at", "cost_display", "charged_display", "state")

    @admin.display(description="Cost", ordering="cost")
    def cost_display(self, generation: Generation) -> str:
        return money_cell(generation.cost)

    @admin.display(description="Charged", ordering="charged_cost")
    def charged_display(self, generation: Generation) -> str:
        return money_cell(generation.charged_cost)


admin.site.unregister(Generation)
admin.site.register(Generation, FinanceGenerationAdmin)
