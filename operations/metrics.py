"""/metrics for Prometheus.

State is read from the database at scrape time (gauges: generations by state and gateway, the
oldest pending generation's age per gateway, paused gateways); events are read from the
counters every process adds to in Redis (operations/events.py). Either way any web process
answers for the whole installation, however many gunicorn and Celery workers there are.
"""

import logging

from django.db.models import Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from operations import events
from operations.access import is_operator

logger = logging.getLogger(__name__)

STATES = ("pending", "verified", "disputed", "missing", "expired")


class TallyCollector:
    """Collects every Tally series on each scrape."""

    def collect(self):
        yield from self._state()
        yield from self._events()

    def _state(self):
        from accounts.models import Gateway
        from generations.models import DailySpend, Generation

        gateways = list(Gateway.objects.order_by("slug").values_list("pk", "slug", "paused_at"))
        generations = GaugeMetricFamily(
            "tally_generations", "Generations by reconciliation state and gateway (from the daily roll-ups).",
            labels=["gateway", "state"],
        )
        totals = {
            row["api_key__gateway_id"]: row
            for row in DailySpend.objects.values("api_key__gateway_id").annotate(**{state: Sum(state) for state in STATES})
        }
        oldest = GaugeMetricFamily(
            "tally_oldest_pending_age_seconds", "Age of the oldest pending generation per gateway (0: none pending).",
            labels=["gateway"],
        )
        oldest_by_gateway = dict(
            Generation.objects.pending().values("gateway_id").annotate(oldest=Min("created_at")).values_list(
                "gateway_id", "oldest"
            )
        )
        paused = GaugeMetricFamily("tally_gateway_paused", "1 while lookups on the gateway are paused.", labels=["gateway"])
        now = timezone.now()
        for gateway_id, slug, paused_at in gateways:
            row = totals.get(gateway_id, {})
            for state in STATES:
                generations.add_metric([slug, state], row.get(state) or 0)
            created = oldest_by_gateway.get(gateway_id)
            oldest.add_metric([slug], max((now - created).total_seconds(), 0) if created else 0)
            paused.add_metric([slug], 1 if paused_at else 0)
        yield from (generations, oldest, paused)

    def _events(self):
        try:
            stored = events.stored_events()
        except Exception as error:
            logger.warning("Metric events could not be read: %s", error)
            stored = {}
        for definition in events.EVENT_METRICS:
            metric = Metric(definition.name, definition.documentation, definition.kind)
            for (sample_name, labels), value in sorted(stored.items()):
                suffix = sample_name[len(definition.name) :]
                if sample_name.startswith(definition.name) and suffix in ("_total", "_bucket", "_sum", "_count"):
                    metric.add_sample(sample_name, dict(labels), value)
            yield metric


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for operators (operations/access.py); anyone else gets 403."""
    if not is_operator(request):
        return HttpResponse("Forbidden: a metrics token or an allowed address is needed.\n", status=403,
                            content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TallyCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
