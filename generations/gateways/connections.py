"""Keep-alive HTTP/1.1 connections to gateways, parsed by httptools.

A lookup is one small GET (or, for FastRouter, a small POST) answered by a small JSON body, made
millions of times a month. Measured against the simulator in one run, aiohttp spent about 3.4
times the CPU per lookup of a bare asyncio client; with httptools (MagicStack's binding of llhttp, Node.js's parser)
behind an asyncio.Protocol, a lookup costs what the bare client's does. What a lookup needs, and
no more, is here: a pool of kept-alive connections per origin (plain or TLS), Content-Length,
chunked and read-until-close bodies under a size cap, gzip and deflate, a timeout on connecting
and on each wait for more bytes, and redirects that keep credentials on their origin.

Failures are typed (ConnectFailed, StaleConnection, ConnectionBroken, ReadTimeout, BodyTooLarge,
RedirectRefused, all HttpFailure); http.send maps them to gateway errors.
"""

import asyncio
import functools
import ssl
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urljoin, urlsplit

import httptools

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that carry a credential: never sent to another origin than the one they were given for.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Headers are not part of the body cap; a gateway sending headers without end is cut off here.
MAX_HEADER_BYTES = 64 * 1024
SAFE_PATH_CHARACTERS = "/%:@!$&'()*+,;=-._~"
SAFE_QUERY_CHARACTERS = SAFE_PATH_CHARACTERS + "?"


class HttpFailure(Exception):
    """A request that got no usable answer."""


class ConnectFailed(HttpFailure):
    """No connection could be made (refused, unreachable, TLS handshake failed, timed out)."""


class StaleConnection(HttpFailure):
    """A kept-alive connection was closed before any byte of the answer came: the request went
    nowhere and may be sent again on a new connection."""


class ConnectionBroken(HttpFailure):
    """The connection broke, or the answer was not HTTP, after the answer had begun."""


class ReadTimeout(HttpFailure):
    """No byte of the answer came within the timeout."""


class RedirectRefused(HttpFailure):
    """More redirects than allowed, or one to somewhere that is not an http(s) URL."""


class BodyTooLarge(HttpFailure):
    """The answer (declared or as it arrived, or once decompressed) is over the size cap."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Response:
    """An answer read in full: status, headers by lower-case name (repeats joined by ", "),
    the decoded body, and the URL that gave it (after redirects)."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    # After a redirect to another origin, which was sent no credentials.
    from_another_origin: bool = False


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> "Origin":
        parts = urlsplit(url)
        return _origin(parts.scheme, parts.netloc)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@functools.lru_cache(maxsize=256)
def _origin(scheme: str, netloc: str) -> Origin:
    parts = urlsplit(f"{scheme}://{netloc}")
    scheme = scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {scheme}://{netloc[:200]}")
    return Origin(scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))


def header_lines(headers: dict[str, str]) -> str:
    """Headers as request lines; a name or value holding a line break (a header of its own,
    smuggled in) is refused."""
    lines = []
    for name, value in headers.items():
        if any(character in name for character in "\r\n:") or "\r" in value or "\n" in value:
            raise ValueError(f"the header {name[:40]!r} holds a line break: refusing to send it")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


def request_bytes(method: str, url: str, *, common: str, headers: dict[str, str], body: bytes | None) -> tuple[Origin, bytes]:
    """Where the request goes and what goes on the wire: HTTP/1.1, the origin's Host, the path
    and query of `url` quoted where they are not already, the `common` header lines, then the
    request's own."""
    parts = urlsplit(url)
    origin = _origin(parts.scheme, parts.netloc)
    target = quote(parts.path or "/", safe=SAFE_PATH_CHARACTERS)
    if parts.query:
        target += "?" + quote(parts.query, safe=SAFE_QUERY_CHARACTERS)
    length = "" if body is None else f"Content-Length: {len(body)}\r\n"
    head = f"{method} {target} HTTP/1.1\r\nHost: {origin.host_header}\r\n{common}{header_lines(headers)}{length}\r\n"
    data = head.encode("latin-1")
    return origin, data + body if body else data


def with_query(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


class _Connection(asyncio.Protocol):
    """One kept-alive connection, one exchange at a time."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reusable = False
        self._answer: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self.close()  # bytes nobody asked for: this connection can no longer be trusted
            return
        self._began = True
        self._last_data = self._loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionBroken(f"the answer is not HTTP: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is None or self._answer.done():
            return
        if self._status and not self._framed:  # a body read until the connection closes
            self._finish()
        elif not self._began:
            self._fail(StaleConnection("the connection was closed before the answer began"))
        else:
            self._fail(ConnectionBroken("the connection was closed in the middle of the answer"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._fail(ConnectionBroken(f"the answer's headers are over {MAX_HEADER_BYTES} bytes"))
            return
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        length = self._headers.get("content-length", "")
        self._framed = bool(length) or "chunked" in self._headers.get("transfer-encoding", "").lower()
        if length.isdigit() and int(length) > self._cap:
            self._fail(BodyTooLarge(f"the answer declares {length} bytes, over the {self._cap} byte cap",
                                    status_code=self._status))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._cap:
            self._fail(BodyTooLarge(f"the answer is over the {self._cap} byte cap", status_code=self._status))
        elif not self._answer.done():
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        self._finish()

    # one exchange

    async def exchange(self, data: bytes, *, max_body_bytes: int) -> tuple[int, dict[str, str], bytes]:
        """Send a request and wait for its answer."""
        if self.closed or self.transport.is_closing():
            raise StaleConnection("the connection was already closed")
        self._loop = asyncio.get_running_loop()
        self._answer = self._loop.create_future()
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._status = self._size = self._header_bytes = 0
        self._cap = max_body_bytes
        self._began = self._framed = self.reusable = False
        self._last_data = self._loop.time()
        self._timer = self._loop.call_at(self._last_data + self.timeout_seconds, self._check_idle)
        self.transport.write(data)
        try:
            return await self._answer
        except BaseException:
            self.close()  # cancelled or failed half way: what is left on the wire belongs to nobody
            raise
        finally:
            self._timer.cancel()

    def _check_idle(self) -> None:
        idle_until = self._last_data + self.timeout_seconds
        if self._loop.time() >= idle_until:
            self._fail(ReadTimeout(f"no answer for {self.timeout_seconds:g} s"))
        else:
            self._timer = self._loop.call_at(idle_until, self._check_idle)

    def _finish(self) -> None:
        if not self._answer.done():
            self._answer.set_result((self._status, self._headers, b"".join(self._chunks)))

    def _fail(self, error: HttpFailure) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Kept-alive connections per origin, for one event loop. `headers` go with every request
    (a request's own override them). Connections beyond `max_idle` per origin are closed when
    their exchange ends rather than kept."""

    def __init__(self, *, timeout_seconds: float, max_idle: int, ssl_context: ssl.SSLContext,
                 headers: dict[str, str] | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_idle = max(max_idle, 1)
        self.ssl_context = ssl_context
        self.headers = dict(headers or {})
        self._common = header_lines(self.headers)
        self._common_names = {name.lower() for name in self.headers}
        self._idle: dict[Origin, list[_Connection]] = {}
        self._closed = False

    async def request(self, method: str, url: str, *, headers: dict[str, str], body: bytes | None = None,
                      max_body_bytes: int, max_redirects: int) -> Response:
        """Make the request, following up to `max_redirects` redirects (a 303, or a 301/302 of a
        POST, becomes a GET without body; credentials stay with their origin)."""
        overridden = {name.lower() for name in headers}
        common = self._common
        if overridden & self._common_names:
            common = header_lines({name: value for name, value in self.headers.items() if name.lower() not in overridden})
        own = dict(headers)
        if body is not None and "content-type" not in overridden:
            own["Content-Type"] = "application/json"
        first_origin = None
        for _ in range(max_redirects + 1):
            origin, data = request_bytes(method, url, common=common, headers=own, body=body)
            first_origin = first_origin or origin
            status, answer_headers, content = await self._exchange(origin, data, max_body_bytes=max_body_bytes)
            location = answer_headers.get("location")
            if status not in REDIRECT_STATUSES or not location:
                content = _decoded(content, answer_headers, max_body_bytes, status)
                return Response(status, answer_headers, content, url, from_another_origin=origin != first_origin)
            url = urljoin(url, location.strip())
            try:
                next_origin = Origin.of(url)
            except ValueError as error:
                raise RedirectRefused(f"redirected to {url[:200]!r}: {error}") from error
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                own = {name: value for name, value in own.items() if name.lower() != "content-type"}
            if next_origin != first_origin:
                own = {name: value for name, value in own.items() if name.lower() not in CREDENTIAL_HEADERS}
        raise RedirectRefused(f"more than {max_redirects} redirects")

    async def _exchange(self, origin: Origin, data: bytes, *, max_body_bytes: int):
        if self._closed:
            raise ConnectFailed("the connection pool is closed")
        idle = self._idle.setdefault(origin, [])
        while idle:
            connection = idle.pop()
            try:
                answer = await connection.exchange(data, max_body_bytes=max_body_bytes)
            except StaleConnection:
                continue  # the gateway closed it meanwhile; the request went nowhere
            self._give_back(origin, connection)
            return answer
        connection = await self._connect(origin)
        try:
            answer = await connection.exchange(data, max_body_bytes=max_body_bytes)
        except StaleConnection as error:  # a new connection closed at once is not stale
            raise ConnectionBroken(str(error)) from error
        self._give_back(origin, connection)
        return answer

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = origin.scheme == "https"
        try:
            async with asyncio.timeout(self.timeout_seconds):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self.timeout_seconds), origin.host, origin.port,
                    ssl=self.ssl_context if tls else None, server_hostname=origin.host if tls else None,
                )
        except TimeoutError as error:
            raise ConnectFailed(f"could not connect to {origin.host_header} within {self.timeout_seconds:g} s") from error
        except (OSError, ssl.SSLError) as error:
            raise ConnectFailed(f"could not connect to {origin.host_header}: {error}") from error
        return connection

    def _give_back(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if connection.reusable and not connection.closed and not self._closed and len(idle) < self.max_idle:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    async def __aenter__(self) -> "ConnectionPool":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


def _decoded(content: bytes, headers: dict[str, str], cap: int, status: int) -> bytes:
    """The body without its content coding (gzip or deflate), no larger decoded than the cap."""
    coding = headers.get("content-encoding", "").strip().lower()
    if coding in ("", "identity") or not content:
        return content
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise ConnectionBroken(f"the answer is encoded as {coding[:40]!r}, which was not asked for")
    # 47: a gzip or zlib header, detected; -15: raw deflate, which some servers send as "deflate".
    for window_bits in (47, -15):
        decompressor = zlib.decompressobj(window_bits)
        try:
            decoded = decompressor.decompress(content, cap + 1)
        except zlib.error:
            continue
        if len(decoded) > cap or decompressor.unconsumed_tail:
            raise BodyTooLarge(f"the answer is over the {cap} byte cap once decompressed", status_code=status)
        return decoded
    raise ConnectionBroken(f"the answer's {coding} encoding could not be decoded")
