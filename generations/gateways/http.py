"""The one place that talks HTTP to gateways: sessions, sending, status mapping.

Adapters describe a request as an HttpRequest (a plain value); `send` makes it through a
connections.ConnectionPool (kept-alive HTTP/1.1, parsed by httptools: see that module for why
not a general-purpose client). Everything a gateway can do wrong ends here as a GatewayError
subclass: timeouts and dropped connections are transient, status codes map to typed errors,
bodies larger than MAX_BODY_BYTES are refused as BadPayload before they are read in full.
"""

import functools
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import certifi

from generations.gateways import connections
from generations.gateways.base import (
    BadPayload,
    GatewayError,
    NotFound,
    PaymentRequired,
    RateLimited,
    RefusedLookup,
    TransientFailure,
    Unauthorised,
)
from lib.exact_json import loads_exact

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "Tally reconciliation (+https://github.com/tally)"
TRANSIENT_STATUSES = frozenset({408, 425, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529})


@dataclass(frozen=True)
class HttpRequest:
    """What an adapter asks a gateway: `method` on `url` with a query, headers and, for a POST,
    a JSON body."""

    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True)
class GatewayAnswer:
    """A gateway's HTTP answer, read in full (within the size cap) and decoded as text.
    `headers` are looked up by lower-case name."""

    status_code: int
    headers: Mapping[str, str]
    body: str
    # Answered by another origin than the one asked, after a redirect: it never saw the key
    # (credentials stay with their origin), so its 401 says nothing about the key.
    from_another_origin: bool = False


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Certificates loaded once per process: loading them is most of what opening a pool costs."""
    return ssl.create_default_context(cafile=certifi.where())


def build_session(*, timeout_seconds: float, concurrency: int) -> connections.ConnectionPool:
    """One connection pool keeping as many connections as lookups may run through it at once.
    Connecting, and each wait for more bytes, have the timeout; the whole exchange has none, so
    a large answer arriving steadily is not cut off. Bound to the event loop that first uses it."""
    return connections.ConnectionPool(
        timeout_seconds=timeout_seconds,
        max_idle=concurrency,
        ssl_context=tls_context(),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip, deflate"},
    )


def bearer_headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def send(session: connections.ConnectionPool, request: HttpRequest) -> GatewayAnswer:
    """Send one request and read its body, capped at MAX_BODY_BYTES. Network trouble is transient;
    a kept-alive connection the gateway closed meanwhile is replaced without counting as trouble.
    Redirects are followed (at most MAX_REDIRECTS); the Authorization header goes along on
    same-origin redirects only, which is what KushRouter's 307 alias needs."""
    body = None if request.json is None else json.dumps(request.json).encode()
    try:
        response = await session.request(
            request.method,
            connections.with_query(request.url, dict(request.params)),
            headers=dict(request.headers),
            body=body,
            max_body_bytes=MAX_BODY_BYTES,
            max_redirects=MAX_REDIRECTS,
        )
    except connections.BodyTooLarge as error:
        raise BadPayload(str(error), status_code=error.status_code) from error
    except connections.RedirectRefused as error:
        raise BadPayload(f"the redirect was not followed: {error}") from error
    except connections.ReadTimeout as error:
        raise TransientFailure(f"timed out: {error}") from error
    except connections.HttpFailure as error:
        raise TransientFailure(f"connection failed: {type(error).__name__}: {error}") from error
    return GatewayAnswer(
        status_code=response.status,
        headers=response.headers,
        body=response.body.decode("utf-8", errors="replace"),
        from_another_origin=response.from_another_origin,
    )


def raise_for_status(answer: GatewayAnswer) -> None:
    """Map a non-200 answer to its typed error; return quietly on 200.

    A 429's wait is its Retry-After, or else the time until X-RateLimit-Reset. A 402 with a
    Retry-After is a temporary in-flight budget (retry), a plain 402 an account out of credits.
    A 400 is the gateway refusing the lookup itself (a malformed id)."""
    status = answer.status_code
    if status == 200:
        return
    detail = f"HTTP {status}: {error_message(answer.body)}"
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    if status == 404:
        raise NotFound(detail, status_code=status)
    if status == 429:
        wait = retry_after if retry_after is not None else RateLimitHeaders.of(answer.headers).seconds_until_reset()
        raise RateLimited(detail, retry_after=wait)
    if status in (401, 403):
        if answer.from_another_origin:
            raise BadPayload(f"redirected to another host, which refused the lookup without the key: {detail}",
                             status_code=status)
        raise Unauthorised(detail, status_code=status)
    if status == 402:
        if retry_after is not None:
            raise RateLimited(detail, retry_after=retry_after, status_code=status)
        raise PaymentRequired(detail, status_code=status)
    if status == 400:
        raise RefusedLookup(detail, status_code=status, body=answer.body)
    if status in TRANSIENT_STATUSES or status >= 500:
        raise TransientFailure(detail, status_code=status)
    raise BadPayload(f"unexpected answer {detail}", status_code=status, body=answer.body)


def error_message(body: str) -> str:
    """What an error answer says, for logs and findings: the message of a JSON error body
    (`{"error": {"message", "type", "code", "status"}}`, as FastRouter and OpenRouter document
    it, or `{"error": "..."}` / `{"message": "..."}`), else the start of the body."""
    try:
        value = loads_exact(body)
    except (ValueError, RecursionError):
        return body[:200]
    if isinstance(value, dict):
        error = value.get("error", value)
        if isinstance(error, dict):
            message = error.get("message")
            code = error.get("code") or error.get("type")
            if isinstance(message, str):
                return (f"{message} ({code})" if isinstance(code, (str, int)) and code else message)[:200]
        elif isinstance(error, str):
            return error[:200]
        if isinstance(value.get("message"), str):
            return value["message"][:200]
    return body[:200]


@dataclass(frozen=True)
class RateLimitHeaders:
    """X-RateLimit-Limit / -Remaining / -Reset of an answer (Reset: a Unix time in seconds or
    milliseconds, as OpenRouter sends it, or seconds from now)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    @classmethod
    def of(cls, headers: Mapping[str, str], *, now: datetime | None = None) -> "RateLimitHeaders":
        return cls(
            limit=_whole(headers.get("x-ratelimit-limit")),
            remaining=_whole(headers.get("x-ratelimit-remaining")),
            reset_at=_reset_time(headers.get("x-ratelimit-reset"), now=now or datetime.now(timezone.utc)),
        )

    def seconds_until_reset(self, *, now: datetime | None = None) -> float | None:
        if self.reset_at is None:
            return None
        return max((self.reset_at - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)

    @property
    def exhausted(self) -> bool:
        """No requests left in this window: wait for the reset before asking again."""
        return self.remaining is not None and self.remaining <= 0 and self.reset_at is not None


# Longest wait a rate-limit reset may impose: a header from a confused gateway cannot stall a batch.
MAX_RESET_WAIT_SECONDS = 3600.0


def _whole(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _reset_time(value: str | None, *, now: datetime) -> datetime | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    if number != number or number < 0 or number == float("inf"):
        return None
    if number > 1e11:  # milliseconds since the epoch
        seconds = number / 1000 - now.timestamp()
    elif number > 1e9:  # seconds since the epoch
        seconds = number - now.timestamp()
    else:  # seconds from now
        seconds = number
    return now + timedelta(seconds=min(max(seconds, 0.0), MAX_RESET_WAIT_SECONDS))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds to wait: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a wait
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max((moment - (now or datetime.now(timezone.utc))).total_seconds(), 0.0)


def load_json_object(body: str) -> dict[str, Any]:
    """The body as a JSON object with exact numbers, or BadPayload."""
    try:
        value = loads_exact(body)
    except (ValueError, RecursionError) as error:
        raise BadPayload(f"the answer is not JSON: {str(error)[:200]}") from error
    if not isinstance(value, dict):
        raise BadPayload(f"the answer is a JSON {type(value).__name__}, not an object")
    return value


__all__ = [
    "GatewayAnswer",
    "GatewayError",
    "MAX_BODY_BYTES",
    "RateLimitHeaders",
    "error_message",
    "HttpRequest",
    "bearer_headers",
    "build_session",
    "load_json_object",
    "parse_retry_after",
    "raise_for_status",
    "send",
]
