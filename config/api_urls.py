"""The REST API under /api/v1/: each app's api.py contributes its views here."""

from django.urls import path

from billing.api import (
    DiscrepancyDetailView,
    DiscrepancyListView,
    InvoiceDetailView,
    InvoiceListView,
    KeyListView,
    KeySpendView,
)
from generations.api import GenerationDetailView, GenerationListView
from generations.sources.api import LiteLLMIngestView

urlpatterns = [
    path("generations/", GenerationListView.as_view(), name="api-generations"),
    path(
        "generations/<slug:gateway>/<path:external_id>/",
        GenerationDetailView.as_view(),
        name="api-generation-detail",
    ),
    path("integrations/litellm/", LiteLLMIngestView.as_view(), name="api-integrations-litellm"),
    path("keys/", KeyListView.as_view(), name="api-keys"),
    path("keys/<slug:slug>/spend/", KeySpendView.as_view(), name="api-key-spend"),
    path("discrepancies/", DiscrepancyListView.as_view(), name="api-discrepancies"),
    path("discrepancies/<int:pk>/", DiscrepancyDetailView.as_view(), name="api-discrepancy-detail"),
    path("invoices/", InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<int:pk>/", InvoiceDetailView.as_view(), name="api-invoice-detail"),
]
