"""/healthz: 200 when the database, Redis, a Celery worker and beat all answer; 503 with the
reason when one does not. Outages are made by pointing Tally at ports nothing listens on,
never by stopping the shared services."""

import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Gateway
from bench.processes import free_port, running, wait_until_serving
from tests.reliability.processes import celery_worker, child_environment

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]


def beat_ran(seconds_ago: float) -> None:
    schedule = IntervalSchedule.objects.get_or_create(every=1, period="minutes")[0]
    PeriodicTask.objects.update_or_create(
        name="health test", defaults={"task": "billing.tasks.reconciliation.sweep_due_generations", "interval": schedule,
                                      "last_run_at": timezone.now() - timedelta(seconds=seconds_ago)}
    )


@pytest.fixture
def worker(tmp_path: Path):
    with celery_worker(log_path=tmp_path / "worker.log"):
        yield


@pytest.mark.slow
def test_it_answers_200_when_everything_answers_and_lists_paused_gateways(client, worker, settings):
    settings.TALLY_HEALTH_CELERY_TIMEOUT_SECONDS = 2
    beat_ran(seconds_ago=30)
    Gateway.objects.create(slug="kush", name="Kush", kind="kushrouter", base_url="https://k.example",
                           paused_at=timezone.now(), pause_reason="Payment required (402)")
    body = None
    for _ in range(20):  # the worker takes a few seconds to start answering pings
        response = client.get("/healthz")
        body = response.json()
        if response.status_code == 200:
            break
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "redis": True, "celery_workers": True, "celery_beat": True
    }
    assert [paused["gateway"] for paused in body["paused_gateways"]] == ["kush"]


def test_it_answers_503_when_redis_does_not_answer(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    beat_ran(seconds_ago=10)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["redis"]["ok"] is False
    assert "Connection" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_it_answers_503_when_beat_has_not_run_lately(client, settings):
    settings.TALLY_HEALTH_BEAT_MAX_AGE_SECONDS = 300
    beat_ran(seconds_ago=900)

    body = client.get("/healthz").json()

    assert body["checks"]["celery_beat"]["ok"] is False
    assert "900s ago" in body["checks"]["celery_beat"]["detail"] or "90" in body["checks"]["celery_beat"]["detail"]


def test_it_answers_503_when_no_worker_answers(client, settings):
    settings.TALLY_HEALTH_CELERY_TIMEOUT_SECONDS = 0.3
    beat_ran(seconds_ago=10)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["celery_workers"]["ok"] is False


@pytest.mark.slow
def test_a_server_whose_database_refuses_answers_503(tmp_path: Path):
    port = free_port()
    refused = f"postgres://postgres@127.0.0.1:{free_port()}/tally"
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    log_path = tmp_path / "gunicorn.log"
    with running(command, environment=child_environment(DATABASE_URL=refused), log_path=log_path) as process:
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until_serving(url, process=process, log_path=log_path)
        response = httpx.get(url, timeout=30)

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert "paused_gateways" not in body


def test_anyone_else_learns_only_whether_each_check_passed(client, settings):
    settings.TALLY_METRICS_TOKEN = "operator-token"
    beat_ran(seconds_ago=10)
    Gateway.objects.create(slug="kush", name="Kush", kind="kushrouter", base_url="https://k.example",
                           paused_at=timezone.now(), pause_reason="Payment required (402): account acct_123")
    outsider = {"REMOTE_ADDR": "203.0.113.9"}

    body = client.get("/healthz", **outsider).json()
    operator = client.get("/healthz", HTTP_AUTHORIZATION="Bearer operator-token", **outsider).json()

    assert all(set(check) == {"ok"} for check in body["checks"].values())
    assert body["paused_gateways"] == 1 and "acct_123" not in str(body) and "kush" not in str(body)
    assert operator["checks"]["database"]["detail"] and operator["paused_gateways"][0]["gateway"] == "kush"
