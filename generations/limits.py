"""A gateway's concurrency and rate limit, held across all workers together.

`limiter_for(gateway)` returns the factory `lookup_batch` calls around each HTTP request
(`async with limiter():`). With Redis configured (REDIS_URL, or a Redis broker), the slots and
the rate live in Redis, so ten workers on one gateway with concurrency 16 make at most 16
requests at once between them, not 160:

- concurrency: a sorted set of leases (member: a random token, score: when the lease expires).
  A request takes a slot if fewer than `concurrency` unexpired leases exist, and gives it back
  when done. A killed worker never gives its slots back; they expire after the request timeout.
- rate: a sliding log of request start times over the last second; a request starts only if
  fewer than `rate_limit_per_second` started in that second.

Both checks and the taking of the slot are one Lua script, so they are atomic, and use Redis's
clock, so workers' clocks need not agree. Without Redis, an in-process limiter holds the same
limits within one process (enough for the embedded demo's single worker).
"""

import asyncio
import itertools
import random
import threading
import time
import uuid
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass

from django.conf import settings

# Seconds a slot outlives the request timeout before it is presumed lost (worker killed).
LEASE_MARGIN_SECONDS = 5.0
RATE_WINDOW_MS = 1000
# How long to wait before asking again when every slot is taken.
SLOT_POLL_SECONDS = 0.02

# ARGV: concurrency, lease_ms, rate, window_ms, how many tokens to give back, those tokens, then
# one new token per request waiting for a slot. Slots are taken in order until one check fails.
# Returns {slots granted, ms to wait before asking again (-1: until a slot frees)}.
ACQUIRE_SCRIPT = """
local slots, starts = KEYS[1], KEYS[2]
local concurrency, lease_ms, rate, window_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local released = tonumber(ARGV[5])
for index = 6, 5 + released do
  redis.call('ZREM', slots, ARGV[index])
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if rate > 0 then
  redis.call('ZREMRANGEBYSCORE', starts, '-inf', now - window_ms)
end
local granted, wait_ms = 0, -1
for index = 6 + released, #ARGV do
  if concurrency > 0 and redis.call('ZCARD', slots) >= concurrency then
    break
  end
  if rate > 0 then
    if redis.call('ZCARD', starts) >= rate then
      local oldest = redis.call('ZRANGE', starts, 0, 0, 'WITHSCORES')
      wait_ms = math.max(1, tonumber(oldest[2]) + window_ms - now)
      break
    end
    redis.call('ZADD', starts, now, ARGV[index])
  end
  redis.call('ZADD', slots, now + lease_ms, ARGV[index])
  granted = granted + 1
end
if granted > 0 then
  redis.call('PEXPIRE', slots, lease_ms * 2)
  if rate > 0 then
    redis.call('PEXPIRE', starts, window_ms * 2)
  end
end
return {granted, wait_ms}
"""


@dataclass(frozen=True)
class Limits:
    """What a gateway allows: requests in flight at once, and request starts per second (0: no limit)."""

    concurrency: int
    rate_per_second: int
    lease_seconds: float

    @classmethod
    def of(cls, gateway, *, timeout_seconds: float = 30.0) -> "Limits":
        return cls(
            concurrency=max(int(gateway.concurrency or 1), 1),
            rate_per_second=int(gateway.rate_limit_per_second or 0),
            lease_seconds=timeout_seconds + LEASE_MARGIN_SECONDS,
        )


def redis_url() -> str:
    """The Redis that holds the limits: REDIS_URL, else the broker's if it is Redis, else none."""
    if settings.REDIS_URL:
        return settings.REDIS_URL
    broker = settings.CELERY_BROKER_URL or ""
    return broker if broker.startswith(("redis://", "rediss://")) else ""


class RedisLimiter:
    """Limits shared by every process that uses the same Redis and gateway key.

    Each request holds a slot (a token in the sorted set, and a start in the rate log), but one
    script call asks for the slots of every request waiting in this process and gives back the
    slots of every request that finished since the last call, and without a rate limit a slot
    a request gives back goes straight to the next one waiting here while its lease is young:
    a batch of lookups costs a few Redis round trips, not two per request. A slot given back
    waits, at most, for the next call: it is held a little longer, never shared.
    """

    def __init__(self, *, url: str, name: str, limits: Limits) -> None:
        self.url = url
        self.limits = limits
        self.slots_key = f"tally:limits:{name}:slots"
        self.starts_key = f"tally:limits:{name}:starts"
        self._client = None
        self._script = None
        self._token_prefix = uuid.uuid4().hex
        self._token_numbers = itertools.count()
        self._waiting: deque[asyncio.Future] = deque()
        self._released: list[str] = []
        self._wake: asyncio.Event | None = None
        self._exchanging: asyncio.Task | None = None
        # When each slot held was asked for (local clock, before Redis granted it: its lease
        # runs from later). A slot given back soon enough goes to the next request waiting in
        # this process without a round trip; each then still has most of the lease's margin
        # beyond the request timeout. Only without a rate limit, whose log counts every start.
        self._granted_at: dict[str, float] = {}
        self._handoff_seconds = 0.0 if limits.rate_per_second else min(LEASE_MARGIN_SECONDS, limits.lease_seconds) / 2

    def _connected(self):
        # Created lazily, inside the event loop that will use it (redis.asyncio is loop-bound).
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(self.url)
            self._script = self._client.register_script(ACQUIRE_SCRIPT)
            self._wake = asyncio.Event()
        return self._script

    async def acquire(self) -> str:
        """Wait for a slot; returns its token, to give back with `release`."""
        self._connected()
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._start_exchanging()
        return await waiter

    async def release(self, token: str) -> None:
        granted_at = self._granted_at.pop(token, None)
        if granted_at is not None and time.monotonic() - granted_at < self._handoff_seconds:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():  # not cancelled meanwhile
                    self._granted_at[token] = granted_at
                    waiter.set_result(token)
                    return
        self._released.append(token)
        self._wake.set()
        self._start_exchanging()

    def _start_exchanging(self) -> None:
        if self._exchanging is None or self._exchanging.done():
            self._exchanging = asyncio.ensure_future(self._exchange())

    async def _exchange(self) -> None:
        """Give back finished slots and take slots for waiting requests, one script call at a
        time, until nothing is waiting and nothing is left to give back."""
        waiters: list[asyncio.Future] = []
        try:
            while self._waiting or self._released:
                # Let the requests woken by this tick's releases ask too, so that one call gives
                # a slot back and takes the next.
                await asyncio.sleep(0)
                waiters = [waiter for waiter in self._waiting if not waiter.done()]
                self._waiting.clear()
                released, self._released = self._released, []
                tokens = [f"{self._token_prefix}:{next(self._token_numbers)}" for _ in waiters]
                arguments = [
                    self.limits.concurrency,
                    int(self.limits.lease_seconds * 1000),
                    self.limits.rate_per_second,
                    RATE_WINDOW_MS,
                    len(released),
                    *released,
                    *tokens,
                ]
                asked_at = time.monotonic()
                answer = await self._script(keys=[self.slots_key, self.starts_key], args=arguments)
                granted, wait_ms = (int(value) for value in answer)
                for waiter, token in zip(waiters[:granted], tokens, strict=False):
                    if waiter.done():  # cancelled while its slot was being taken
                        self._released.append(token)
                    else:
                        self._granted_at[token] = asked_at
                        waiter.set_result(token)
                self._waiting.extendleft(reversed(waiters[granted:]))
                waiters = []
                if self._waiting and not self._released:
                    seconds = SLOT_POLL_SECONDS if wait_ms < 0 else wait_ms / 1000
                    await self._sleep_unless_woken(seconds * random.uniform(1.0, 1.5))
        except Exception as error:
            # Redis unreachable or refusing: every waiting request fails (and is retried later);
            # slots not given back expire with their lease.
            for waiter in [*waiters, *self._waiting]:
                if not waiter.done():
                    waiter.set_exception(error)
            self._waiting.clear()
            self._released.clear()

    async def _sleep_unless_woken(self, seconds: float) -> None:
        """Sleep until it is worth asking again, or until a request of ours gives a slot back."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def __call__(self):
        return self._held()

    @asynccontextmanager
    async def _held(self):
        token = await self.acquire()
        try:
            yield
        finally:
            await self.release(token)

    async def flush(self) -> None:
        """Wait until the slots given back so far are back in Redis."""
        if self._exchanging is not None and not self._exchanging.done():
            await self._exchanging

    async def aclose(self) -> None:
        await self.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class LocalLimiter:
    """The same limits within one process, for when there is no Redis."""

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.concurrency)
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def _wait_for_rate(self) -> float:
        """0 and a start recorded if a request may start now; otherwise seconds to wait."""
        if not self.limits.rate_per_second:
            return 0.0
        with self._lock:
            now = time.monotonic()
            while self._starts and self._starts[0] <= now - RATE_WINDOW_MS / 1000:
                self._starts.popleft()
            if len(self._starts) >= self.limits.rate_per_second:
                return max(self._starts[0] + RATE_WINDOW_MS / 1000 - now, 0.001)
            self._starts.append(now)
            return 0.0

    async def acquire(self) -> None:
        # Threads of one worker each run their own event loop: a threading semaphore spans them.
        while not self._slots.acquire(blocking=False):
            await asyncio.sleep(SLOT_POLL_SECONDS)
        try:
            while wait := self._wait_for_rate():
                await asyncio.sleep(wait)
        except BaseException:
            self._slots.release()
            raise

    def __call__(self):
        return self._held()

    @asynccontextmanager
    async def _held(self):
        await self.acquire()
        try:
            yield
        finally:
            self._slots.release()

    async def flush(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


_local_limiters: dict[tuple[str, Limits], LocalLimiter] = {}
_local_limiters_lock = threading.Lock()


def limiter_for(gateway, *, timeout_seconds: float = 30.0) -> RedisLimiter | LocalLimiter:
    """The limiter of a gateway: call it for an async context manager around one request;
    `await limiter.flush()` in the same event loop when a batch is done, and `aclose()` there
    when the limiter is no longer used."""
    limits = Limits.of(gateway, timeout_seconds=timeout_seconds)
    name = f"gateway:{gateway.pk}"
    url = redis_url()
    if url:
        return RedisLimiter(url=url, name=name, limits=limits)
    with _local_limiters_lock:
        # One per process and gateway, so that concurrent batches in one worker share it.
        return _local_limiters.setdefault((name, limits), LocalLimiter(limits=limits))
