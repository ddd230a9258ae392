"""Suite-wide fixtures and the rules for tests that need real services.

A test marked `postgres`, `redis` or `browser` is skipped, with the reason, when that service is
not available; with TALLY_REQUIRE_SERVICES=1 (as .ci/run sets) it fails instead, so CI cannot
pass by skipping.
"""

import os
import shutil

import pytest

pytest_plugins = ["tests.simulator_fixtures"]

REQUIRE_SERVICES = os.environ.get("TALLY_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("TALLY_CHROMIUM", "/usr/bin/chromium")


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (TALLY_REQUIRE_SERVICES=1 makes this a failure, not a skip)")
    pytest.skip(reason)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def _redis_reachable() -> bool:
    if not redis_url():
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters kept in the cache (invalid access tokens per address) must not carry over between tests."""
    from django.conf import settings
    from django.core.cache import cache

    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        # clear() would flush the whole Redis database, broker queues and all: only ours go.
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(f"{settings.CACHE_KEY_PREFIX}:*"):
            client.delete(key)
    else:
        cache.clear()
    yield


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            _unavailable("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("redis") and not _redis_reachable():
        _unavailable("needs Redis: set REDIS_URL=redis://... to a running server")
    if item.get_closest_marker("browser") and not shutil.which(CHROMIUM):
        _unavailable(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
