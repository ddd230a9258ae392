"""Counters of events (lookups, ingest, jobs, alerts), shared by every process that counts them.

Gunicorn workers and Celery workers are separate processes, often on separate hosts, so an
in-process prometheus-client counter would only ever show one process's share. Events are
therefore added to one Redis hash (HINCRBYFLOAT is atomic), and `/metrics` reads the hash back
at scrape time. Without Redis (the SQLite demo) they are kept in this process only.

Counting never gets in the way of the work it counts: a Redis failure is logged and dropped.
"""

import bisect
import functools
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

REDIS_HASH = "tally:metrics"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)


@dataclass(frozen=True)
class EventMetric:
    name: str
    kind: str  # "counter" or "histogram"
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


LOOKUPS = EventMetric(
    "tally_lookups", "counter", "Gateway lookups by outcome.", ("gateway", "outcome")
)
LOOKUP_SECONDS = EventMetric(
    "tally_lookup_seconds", "histogram", "Gateway lookup latency.", ("gateway",), LATENCY_BUCKETS
)
INGEST_RECORDS = EventMetric(
    "tally_ingest_records", "counter", "Ingested records by source and result (created, duplicate, conflict).",
    ("source", "result"),
)
INGEST_REJECTIONS = EventMetric(
    "tally_ingest_rejected_requests", "counter", "Ingest requests refused whole (bad records), by source.", ("source",)
)
JOB_SECONDS = EventMetric(
    "tally_job_seconds", "histogram", "Celery task durations by task and outcome.", ("task", "outcome"), JOB_BUCKETS
)
ALERTS_SENT = EventMetric(
    "tally_alerts_sent", "counter", "Alert deliveries by kind, channel and outcome (sent, failed).",
    ("kind", "channel", "outcome"),
)
EVENT_METRICS = (LOOKUPS, LOOKUP_SECONDS, INGEST_RECORDS, INGEST_REJECTIONS, JOB_SECONDS, ALERTS_SENT)

_local: dict[str, float] = defaultdict(float)
_local_lock = threading.Lock()
_client = None


def _field(metric: EventMetric, suffix: str, labels: dict[str, str]) -> str:
    return _field_named(metric.name + suffix, tuple(sorted(labels.items())))


@functools.lru_cache(maxsize=4096)
def _field_named(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([name, [list(label) for label in labels]])


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _client


def _add(increments: Iterable[tuple[str, float]]) -> None:
    increments = list(increments)
    if not increments:
        return
    if not settings.REDIS_URL:
        with _local_lock:
            for field, amount in increments:
                _local[field] += amount
        return
    try:
        pipeline = _redis().pipeline(transaction=False)
        for field, amount in increments:
            pipeline.hincrbyfloat(REDIS_HASH, field, amount)
        pipeline.execute()
    except Exception as error:  # counting must never fail the work being counted
        logger.warning("Could not count %s metric events: %s", len(increments), error)


def _histogram_increments(metric: EventMetric, labels: dict[str, str], durations: list[float]) -> list[tuple[str, float]]:
    """The sum, count and cumulative bucket counts of `durations`, as Prometheus histograms have them."""
    durations = sorted(durations)
    increments = [(_field(metric, "_sum", labels), sum(durations)), (_field(metric, "_count", labels), len(durations))]
    for bound in (*metric.buckets, float("inf")):
        if within := bisect.bisect_right(durations, bound):
            increments.append((_field(metric, "_bucket", {**labels, "le": _bound_text(bound)}), within))
    return increments


def _bound_text(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


# A sample before its name is written: the metric and its labels as given.
_Sample = tuple[EventMetric, tuple[tuple[str, str], ...]]


class Tally:
    """Events gathered in memory, added up per sample when flushed, and sent in one round trip
    (a lookup batch has hundreds of events but a few dozen samples). Counting an event only
    notes it: the samples' names and buckets are worked out once per flush, not per event."""

    def __init__(self) -> None:
        self._counts: defaultdict[_Sample, float] = defaultdict(float)
        self._durations: defaultdict[_Sample, list[float]] = defaultdict(list)

    def count(self, metric: EventMetric, amount: float = 1, **labels: str) -> None:
        if amount:
            self._counts[metric, tuple(labels.items())] += amount

    def observe(self, metric: EventMetric, seconds: float, **labels: str) -> None:
        self._durations[metric, tuple(labels.items())].append(seconds)

    def flush(self) -> None:
        counts, self._counts = self._counts, defaultdict(float)
        durations, self._durations = self._durations, defaultdict(list)
        increments: defaultdict[str, float] = defaultdict(float)
        for (metric, labels), amount in counts.items():
            increments[_field(metric, "_total", dict(labels))] += amount
        for (metric, labels), observed in durations.items():
            for field, amount in _histogram_increments(metric, dict(labels), observed):
                increments[field] += amount
        _add(increments.items())


def count(metric: EventMetric, amount: float = 1, **labels: str) -> None:
    """Add `amount` to a counter now."""
    tally = Tally()
    tally.count(metric, amount, **labels)
    tally.flush()


def observe(metric: EventMetric, seconds: float, **labels: str) -> None:
    """Record one duration in a histogram now."""
    tally = Tally()
    tally.observe(metric, seconds, **labels)
    tally.flush()


def stored_events() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every stored sample: (sample name, sorted labels) -> value. Raises if Redis cannot be read."""
    if settings.REDIS_URL:
        raw = {key.decode(): float(value) for key, value in _redis().hgetall(REDIS_HASH).items()}
    else:
        with _local_lock:
            raw = dict(_local)
    samples = {}
    for field, value in raw.items():
        name, labels = json.loads(field)
        samples[(name, tuple(tuple(pair) for pair in labels))] = value
    return samples


def events_reset() -> None:
    """Forget every counted event (tests)."""
    if settings.REDIS_URL:
        _redis().delete(REDIS_HASH)
    with _local_lock:
        _local.clear()
