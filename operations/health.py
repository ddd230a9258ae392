"""/healthz: is this Tally able to do its work? For a load balancer (the status) and a person
(the JSON body).

Checks: the database answers, Redis answers (when configured), at least one Celery worker
answers a ping within TALLY_HEALTH_CELERY_TIMEOUT_SECONDS, and beat sent a scheduled task
within TALLY_HEALTH_BEAT_MAX_AGE_SECONDS. Any failure makes the answer 503. Paused gateways
are reported, not failed: a gateway out of credits is the operator's to fix, and taking
Tally out of the load balancer would not fix it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3)}


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return CheckResult(True, f"{connection.vendor} answers")


def check_redis() -> CheckResult:
    if not settings.REDIS_URL:
        return CheckResult(True, "not configured (file broker, limits in process)")
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return CheckResult(True, "answers")


def check_celery_workers() -> CheckResult:
    from config.celery_app import app

    replies = app.control.ping(timeout=settings.TALLY_HEALTH_CELERY_TIMEOUT_SECONDS)
    if not replies:
        return CheckResult(False, f"no worker answered a ping within {settings.TALLY_HEALTH_CELERY_TIMEOUT_SECONDS}s")
    return CheckResult(True, f"{len(replies)} worker(s) answered")


def check_beat() -> CheckResult:
    from django_celery_beat.models import PeriodicTask

    latest = PeriodicTask.objects.filter(enabled=True).exclude(last_run_at=None).order_by("-last_run_at").first()
    max_age = timedelta(seconds=settings.TALLY_HEALTH_BEAT_MAX_AGE_SECONDS)
    if latest is None:
        return CheckResult(False, "beat has never sent a scheduled task")
    age = timezone.now() - latest.last_run_at
    if age > max_age:
        return CheckResult(False, f"beat last sent a task {int(age.total_seconds())}s ago ({latest.name})")
    return CheckResult(True, f"last sent {latest.name!r} {int(age.total_seconds())}s ago")


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "redis": check_redis,
    "celery_workers": check_celery_workers,
    "celery_beat": check_beat,
}


def _run(check: Callable[[], CheckResult]) -> CheckResult:
    started = time.monotonic()
    try:
        result = check()
    except Exception as error:  # whatever fails, the answer is "not healthy", with why
        result = CheckResult(False, f"{type(error).__name__}: {str(error)[:200]}")
    return CheckResult(result.ok, result.detail, time.monotonic() - started)


def paused_gateways() -> list[dict]:
    from accounts.models import Gateway

    return [
        {"gateway": slug, "paused_at": paused_at.isoformat(), "reason": reason}
        for slug, paused_at, reason in Gateway.objects.filter(paused_at__isnull=False)
        .order_by("slug")
        .values_list("slug", "paused_at", "pause_reason")
    ]


def health_report(*, detailed: bool = True) -> tuple[bool, dict]:
    """Run every check; returns (healthy, the JSON body). Without `detailed`, each check says only
    whether it passed and the paused gateways are a count."""
    results = {name: _run(check) for name, check in CHECKS.items()}
    healthy = all(result.ok for result in results.values())
    checks = {name: result.as_dict() if detailed else {"ok": result.ok} for name, result in results.items()}
    body: dict = {"status": "ok" if healthy else "unhealthy", "checks": checks}
    if results["database"].ok:
        try:
            paused = paused_gateways()
        except Exception as error:
            body["paused_gateways_error"] = f"{type(error).__name__}"
        else:
            body["paused_gateways"] = paused if detailed else len(paused)
    return healthy, body
