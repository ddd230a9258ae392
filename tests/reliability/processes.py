"""Real servers for the fault tests, each on a free loopback port and stopped at the end:
a private Redis (so it can be restarted without touching the machine's shared one), gunicorn
serving Tally on the test database, and the connection settings child processes need.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from bench.processes import free_port, running, wait_until_serving


def children_database_url() -> str:
    """The test database (the one pytest-django created), for processes started by a test."""
    database = connection.settings_dict
    host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    return f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}"


def child_environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": children_database_url(),
        "TALLY_SECRETS_KEY": ",".join(settings.TALLY_SECRETS_KEYS),
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


class PrivateRedis:
    """A redis-server of this test alone, without persistence: a restart loses everything in it,
    queued and unacknowledged Celery messages included, as a crash of a real one can."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return self
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """Crash it: SIGKILL, no chance to save or hand anything over."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, stop_signal: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(stop_signal)
            self.process.wait(timeout=20)


@contextlib.contextmanager
def gunicorn_serving(*, workers: int = 2, threads: int = 8, log_path: Path) -> Iterator[str]:
    """Tally under gunicorn on a free port of 127.0.0.1, on the test database; yields its URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--threads", str(threads), "--worker-class", "gthread", "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    with running(command, environment=child_environment(), log_path=log_path) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/accounts/login/", process=process, log_path=log_path)
        yield url


@contextlib.contextmanager
def celery_worker(*, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen]:
    """A real Celery worker on the test database, logging everything (DEBUG) to `log_path`."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "threads", "--concurrency", "2",
        "--without-mingle", "--without-gossip", "--loglevel", "DEBUG", "--hostname", f"h8-{free_port()}@%h",
    ]  # fmt: skip
    environment = child_environment(
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL, REDIS_URL=settings.REDIS_URL, LOG_LEVEL="DEBUG", **extra_env
    )
    with running(command, environment=environment, log_path=log_path) as process:
        yield process
