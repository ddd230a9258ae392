from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from generations.sources.api import OtlpTracesView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("spend/", include("billing.urls")),
    path("api/v1/", include("config.api_urls")),
    path("otlp/v1/traces", OtlpTracesView.as_view(), name="otlp-traces"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", RedirectView.as_view(url=reverse_lazy("spend:index"), permanent=False), name="home"),
]
