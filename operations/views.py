"""The operator's endpoints: /healthz and /metrics."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from operations.health import health_report
from operations.metrics import metrics_view

__all__ = ["healthz", "metrics_view"]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with the checks when healthy, 503 with the failing ones otherwise. No login: it
    shows no data beyond which gateways are paused."""
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)
