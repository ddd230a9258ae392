"""A gateway's concurrency and rate limit hold across workers (Redis), and within one process
without Redis. Each "worker" here is a thread with its own event loop and its own limiter, as
separate Celery worker processes would have."""

import asyncio
import threading
import time
import uuid

import pytest

from accounts.models import Gateway
from generations.limits import Limits, LocalLimiter, RedisLimiter, limiter_for


class InFlight:
    """Counts requests in flight across threads, and the most seen at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.starts: list[float] = []
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.starts.append(time.monotonic())

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def run_workers(make_limiter, *, workers: int, requests_each: int, hold_seconds: float) -> InFlight:
    flight = InFlight()

    async def worker() -> None:
        limiter = make_limiter()

        async def request() -> None:
            async with limiter():
                flight.enter()
                await asyncio.sleep(hold_seconds)
                flight.leave()

        try:
            await asyncio.gather(*(request() for _ in range(requests_each)))
        finally:
            await limiter.aclose()

    threads = [threading.Thread(target=asyncio.run, args=(worker(),)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return flight


def most_in_any_second(starts: list[float]) -> int:
    starts = sorted(starts)
    return max(sum(1 for other in starts[index:] if other < start + 1.0) for index, start in enumerate(starts))


@pytest.fixture
def redis_name(settings):
    from tests.conftest import redis_url

    settings.REDIS_URL = redis_url()
    name = f"test:{uuid.uuid4().hex}"
    yield name
    import redis

    client = redis.Redis.from_url(redis_url())
    client.delete(f"tally:limits:{name}:slots", f"tally:limits:{name}:starts")
    client.close()


@pytest.mark.redis
def test_concurrency_holds_across_workers_in_redis(redis_name, settings):
    limits = Limits(concurrency=5, rate_per_second=0, lease_seconds=30)

    flight = run_workers(
        lambda: RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits), workers=3, requests_each=15, hold_seconds=0.05
    )

    assert len(flight.starts) == 45
    assert flight.most == 5  # reached, never passed, though each worker alone would run 15 at once


@pytest.mark.redis
def test_rate_limit_holds_across_workers_in_redis(redis_name, settings):
    limits = Limits(concurrency=100, rate_per_second=10, lease_seconds=30)

    started = time.monotonic()
    flight = run_workers(
        lambda: RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits), workers=3, requests_each=8, hold_seconds=0
    )

    assert len(flight.starts) == 24
    assert most_in_any_second(flight.starts) <= 10 + 1  # +1: local clocks versus Redis's clock
    assert time.monotonic() - started >= 2.0  # 24 starts at 10 a second need two full windows


@pytest.mark.redis
def test_a_killed_workers_slots_free_themselves(redis_name, settings):
    limits = Limits(concurrency=2, rate_per_second=0, lease_seconds=0.5)

    async def crash_holding_slots() -> None:
        limiter = RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits)
        await limiter.acquire()
        await limiter.acquire()  # never released: the worker "dies"
        await limiter.aclose()

    async def next_worker() -> float:
        limiter = RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits)
        started = time.monotonic()
        async with limiter():
            waited = time.monotonic() - started
        await limiter.aclose()
        return waited

    asyncio.run(crash_holding_slots())
    waited = asyncio.run(next_worker())
    assert 0.2 <= waited < 5


def test_concurrency_and_rate_hold_within_one_process_without_redis():
    limiter = LocalLimiter(limits=Limits(concurrency=4, rate_per_second=0, lease_seconds=30))

    flight = run_workers(lambda: limiter, workers=3, requests_each=10, hold_seconds=0.03)

    assert len(flight.starts) == 30
    assert flight.most == 4
    rated = LocalLimiter(limits=Limits(concurrency=50, rate_per_second=8, lease_seconds=30))
    flight = run_workers(lambda: rated, workers=2, requests_each=8, hold_seconds=0)
    assert most_in_any_second(flight.starts) <= 8


@pytest.mark.django_db
def test_it_uses_redis_when_configured_and_one_local_limiter_per_gateway_otherwise(settings):
    gateway = Gateway.objects.create(slug="g", name="g", kind="openrouter", base_url="http://x", concurrency=3, rate_limit_per_second=7)
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"
    local = limiter_for(gateway)
    assert isinstance(local, LocalLimiter)
    assert limiter_for(gateway) is local
    assert (local.limits.concurrency, local.limits.rate_per_second) == (3, 7)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    shared = limiter_for(gateway)
    assert isinstance(shared, RedisLimiter)
    assert shared.url == "redis://127.0.0.1:6379/9"


class CountedCalls:
    """Passes every script call through to Redis, counting them."""

    def __init__(self, script) -> None:
        self.script = script
        self.calls = 0

    async def __call__(self, *args, **kwargs):
        self.calls += 1
        return await self.script(*args, **kwargs)


@pytest.mark.redis
def test_one_script_call_serves_many_waiting_requests(redis_name, settings):
    limits = Limits(concurrency=8, rate_per_second=0, lease_seconds=30)
    flight = InFlight()
    calls = 0

    async def batch() -> None:
        nonlocal calls
        limiter = RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits)
        limiter._connected()
        counted = limiter._script = CountedCalls(limiter._script)

        async def request() -> None:
            async with limiter():
                flight.enter()
                await asyncio.sleep(0.02)
                flight.leave()

        await asyncio.gather(*(request() for _ in range(64)))
        await limiter.aclose()
        calls = counted.calls

    asyncio.run(batch())

    assert len(flight.starts) == 64
    assert flight.most == 8
    assert calls < 64  # one call each to take and give back a slot would be 128


@pytest.mark.redis
def test_slots_are_all_given_back_and_an_unreachable_redis_fails_the_requests(redis_name, settings):
    import redis

    limits = Limits(concurrency=3, rate_per_second=0, lease_seconds=30)

    def make_limiter() -> RedisLimiter:
        return RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits)

    run_workers(make_limiter, workers=2, requests_each=10, hold_seconds=0)
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.zcard(f"tally:limits:{redis_name}:slots") == 0
    client.close()

    async def with_redis_down() -> list:
        limiter = RedisLimiter(url="redis://127.0.0.1:1/0", name=redis_name, limits=limits)

        async def request() -> None:
            async with limiter():
                pass

        outcomes = await asyncio.gather(*(request() for _ in range(5)), return_exceptions=True)
        await limiter.aclose()
        return outcomes

    outcomes = asyncio.run(asyncio.wait_for(with_redis_down(), timeout=30))
    assert all(isinstance(outcome, redis.exceptions.ConnectionError) for outcome in outcomes), outcomes


def script_calls(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


@pytest.mark.redis
def test_without_a_rate_limit_a_slot_given_back_goes_to_the_next_request_without_asking_redis(redis_name, settings):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    limits = Limits(concurrency=4, rate_per_second=0, lease_seconds=35)
    before = script_calls(client)

    flight = run_workers(
        lambda: RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits), workers=1, requests_each=200, hold_seconds=0.001
    )

    assert len(flight.starts) == 200 and flight.most == 4
    assert script_calls(client) - before < 20  # two per request without the hand-off
    assert client.zcard(f"tally:limits:{redis_name}:slots") == 0  # all given back at the end
    client.close()


@pytest.mark.redis
def test_with_a_rate_limit_every_start_is_still_asked_for(redis_name, settings):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    limits = Limits(concurrency=4, rate_per_second=1_000, lease_seconds=35)
    before = script_calls(client)

    run_workers(
        lambda: RedisLimiter(url=settings.REDIS_URL, name=redis_name, limits=limits), workers=1, requests_each=40, hold_seconds=0.001
    )

    assert script_calls(client) - before >= 10  # each start is logged in Redis: no hand-off
    assert client.zcard(f"tally:limits:{redis_name}:starts") == 40
    client.close()
