"""The operator's endpoints: /healthz and /metrics."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from operations.access import is_operator
from operations.health import health_report
from operations.metrics import metrics_view

__all__ = ["healthz", "metrics_view"]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 otherwise, for anyone (load balancers have no login). Only
    operators (operations/access.py) see each check's detail and the paused gateways' reasons:
    error texts name hosts and a pause reason can quote a gateway's answer."""
    healthy, body = health_report(detailed=is_operator(request))
    return JsonResponse(body, status=200 if healthy else 503)
