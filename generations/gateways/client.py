"""Looking many generations up at once, concurrently, within a gateway's limits.

A batch sends its lookups through a GatewayClients, one connection pool (http.build_session):
given one that outlives the batch (generations/lookup_loop.py keeps one per gateway for a
worker's event loop), connections stay open from one batch to the next; without one, the batch
opens its own and closes them. At most `connection.concurrency` lookups
are in flight; when a `limiter` is given
(reconciliation passes one shared by all workers through Redis), every HTTP request is also
made inside `async with limiter():`. Each request gets
exactly one outcome, in request order: a record or a GatewayError instance. Nothing else
escapes, whatever the gateway sends.
"""

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

from generations.gateways.adapter import GatewayAdapter
from generations.gateways.base import (
    BadPayload,
    GatewayError,
    GatewayGenerationRecord,
    LookupOutcome,
    LookupRequest,
    TransientFailure,
)
from generations.gateways.connections import ConnectionPool
from generations.gateways.http import GatewayAnswer, RateLimitHeaders, build_session, send
from generations.gateways.redaction import redact_error
from generations.gateways.registry import adapter_for

Limiter = Callable[[], AbstractAsyncContextManager]
# Told each lookup's outcome and how long it took (seconds), e.g. to count it for /metrics.
OutcomeObserver = Callable[[LookupOutcome, float], None]


@dataclass(frozen=True)
class GatewayConnection:
    """Where and how hard to ask one gateway."""

    kind: str
    base_url: str
    concurrency: int = 16
    timeout_seconds: float = 30.0
    lookup_path: str = ""  # empty: the adapter's usual path

    @classmethod
    def of(cls, gateway) -> "GatewayConnection":
        """The connection settings of an accounts.models.Gateway (reads attributes only)."""
        return cls(
            kind=gateway.kind,
            base_url=gateway.base_url,
            concurrency=max(int(gateway.concurrency or 1), 1),
            lookup_path=gateway.lookup_path or "",
        )


class RateLimitWindow:
    """The gateway's own rate-limit window, as its X-RateLimit-* headers describe it: once an
    answer says no requests remain, the batch's next requests wait for the reset instead of
    being refused (429)."""

    def __init__(self) -> None:
        self._resume_at: float = 0.0

    def note(self, answer: GatewayAnswer) -> None:
        headers = RateLimitHeaders.of(answer.headers)
        if headers.exhausted:
            wait = headers.seconds_until_reset() or 0.0
            self._resume_at = max(self._resume_at, time.monotonic() + wait)

    async def wait(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class GatewayClients:
    """The connection pool of one gateway connection, and a slot per connection: a lookup takes
    a slot and gives it back, so at most `concurrency` run at once and none waits in the pool.
    Made inside, and bound to, the event loop that uses it."""

    def __init__(self, connection: GatewayConnection) -> None:
        self.connection = connection
        concurrency = max(connection.concurrency, 1)
        self.session = build_session(timeout_seconds=connection.timeout_seconds, concurrency=concurrency)
        self.slots = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        await self.session.aclose()


async def lookup_batch(
    connection: GatewayConnection,
    requests: Sequence[LookupRequest],
    *,
    limiter: Limiter | None = None,
    observer: OutcomeObserver | None = None,
    clients: GatewayClients | None = None,
) -> list[LookupOutcome]:
    """Look every request up concurrently; one outcome per request, in the same order. Given
    `clients` (of the same connection, on this event loop), their open connections are used and
    left open; otherwise the batch's own are opened and closed."""
    if clients is None:
        clients = GatewayClients(connection)
        try:
            return await lookup_batch(connection, requests, limiter=limiter, observer=observer, clients=clients)
        finally:
            await clients.aclose()
    adapter = adapter_for(connection.kind)
    window = RateLimitWindow()
    slots, session = clients.slots, clients.session

    async def bounded(request: LookupRequest) -> LookupOutcome:
        async with slots:
            started = time.monotonic()
            outcome = await _lookup_one(session, adapter, connection, request, limiter, window)
        if observer is not None:
            observer(outcome, time.monotonic() - started)
        return outcome

    return list(await asyncio.gather(*(bounded(request) for request in requests)))


async def _lookup_one(
    session: ConnectionPool,
    adapter: GatewayAdapter,
    connection: GatewayConnection,
    request: LookupRequest,
    limiter: Limiter | None,
    window: RateLimitWindow,
) -> LookupOutcome:
    try:
        http_request = adapter.build_request(
            base_url=connection.base_url,
            path=connection.lookup_path or adapter.lookup_path,
            generation_id=request.generation_id,
            secret=request.secret,
        )
        try:
            await window.wait()
            async with limiter() if limiter else nullcontext():
                answer = await send(session, http_request)
            window.note(answer)
        except GatewayError:
            raise
        except Exception as error:  # the limiter itself failed (e.g. Redis unreachable): retry later
            raise TransientFailure(f"could not make the request: {type(error).__name__}: {error}") from error
        record = adapter.parse_answer(answer)
        return _checked(record, request)
    except GatewayError as error:
        return redact_error(error, secret=request.secret)
    except Exception as error:  # an adapter bug must not take the whole batch down with it
        unreadable = BadPayload(f"the answer could not be read: {type(error).__name__}: {error}")
        return redact_error(unreadable, secret=request.secret)


def _checked(record: GatewayGenerationRecord, request: LookupRequest) -> GatewayGenerationRecord:
    if not record.id:
        return dataclasses.replace(record, id=request.generation_id)
    if record.id != request.generation_id:
        raise BadPayload(f"asked for {request.generation_id!r}, the gateway answered about {record.id!r}")
    return record
