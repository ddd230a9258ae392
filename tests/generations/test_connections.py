"""The gateway connection pool over real sockets: a scripted server writes each answer byte for
byte, so framing, encodings, caps, timeouts, redirects and TLS are tried as a gateway could
send them."""

import asyncio
import gzip
import ssl
import zlib
from collections.abc import Callable

import pytest
import trustme

from generations.gateways import connections
from generations.gateways.connections import ConnectionPool

Answer = Callable[[bytes], bytes | None]  # the request's bytes -> the raw answer (None: say nothing)
CAP = 64 * 1024


def raw(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


class ScriptedServer:
    """A TCP server answering each request with `answer(request)`, recording what it was sent;
    with `close_after`, it closes the connection after each answer."""

    def __init__(self, answer: Answer, *, close_after: bool = False, tls: ssl.SSLContext | None = None):
        self.answer, self.close_after, self.tls = answer, close_after, tls
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> "ScriptedServer":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()

    def url(self, path: str = "/api/v1/generation", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                    0,
                )
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                answer = self.answer(request)
                if answer is None:
                    await asyncio.sleep(3600)
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def pool(*, timeout: float = 5.0, context: ssl.SSLContext | None = None) -> ConnectionPool:
    return ConnectionPool(
        timeout_seconds=timeout, max_idle=4, ssl_context=context or ssl.create_default_context(), headers={"User-Agent": "t"}
    )


async def fetch(client: ConnectionPool, url: str, *, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    return await client.request(method, url, headers=headers or {}, body=body, max_body_bytes=CAP, max_redirects=3)


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_content_length_answer_is_read_and_its_connection_kept_for_the_next_request():
    async def scenario():
        async with ScriptedServer(lambda _: raw("200 OK", {"Content-Length": "7", "X-Rate": "a"}, b'{"a":1}')) as server:
            async with pool() as client:
                first = await fetch(client, server.url())
                second = await fetch(client, server.url())
            return server, first, second

    server, first, second = run(scenario())
    assert (first.status, first.body, first.headers["x-rate"]) == (200, b'{"a":1}', "a")
    assert second.body == b'{"a":1}'
    assert server.connections == 1


def test_a_chunked_answer_is_put_back_together():
    chunked = b"4\r\n{\"a\"\r\n3\r\n:12\r\n1\r\n}\r\n0\r\n\r\n"

    async def scenario():
        async with ScriptedServer(lambda _: raw("200 OK", {"Transfer-Encoding": "chunked"}, chunked)) as server:
            async with pool() as client:
                return await fetch(client, server.url())

    assert run(scenario()).body == b'{"a":12}'


def test_an_answer_without_length_is_read_until_the_gateway_closes():
    async def scenario():
        answer = lambda _: raw("200 OK", {"Connection": "close"}, b'{"until": "close"}')  # noqa: E731
        async with ScriptedServer(answer, close_after=True) as server:
            async with pool() as client:
                return await fetch(client, server.url())

    assert run(scenario()).body == b'{"until": "close"}'


def test_gzip_and_deflate_answers_are_decoded():
    body = b'{"data": {"total_cost": 0.000123}}'
    encodings = {"gzip": gzip.compress(body), "deflate": zlib.compress(body)}

    async def scenario(coding):
        encoded = encodings[coding]
        headers = {"Content-Length": str(len(encoded)), "Content-Encoding": coding}
        async with ScriptedServer(lambda _: raw("200 OK", headers, encoded)) as server:
            async with pool() as client:
                return await fetch(client, server.url())

    assert run(scenario("gzip")).body == body
    assert run(scenario("deflate")).body == body


def test_a_compressed_answer_over_the_cap_once_decoded_is_refused():
    bomb = gzip.compress(b" " * (CAP * 50))  # small on the wire, fifty caps decoded

    async def scenario():
        headers = {"Content-Length": str(len(bomb)), "Content-Encoding": "gzip"}
        async with ScriptedServer(lambda _: raw("200 OK", headers, bomb)) as server:
            async with pool() as client:
                await fetch(client, server.url())

    with pytest.raises(connections.BodyTooLarge, match="decompressed"):
        run(scenario())


def test_an_answer_declaring_more_than_the_cap_is_refused_before_it_is_read():
    async def scenario():
        answer = lambda _: raw("200 OK", {"Content-Length": str(CAP * 10)}, b"x" * 10)  # noqa: E731
        async with ScriptedServer(answer) as server:
            async with pool() as client:
                await fetch(client, server.url())

    with pytest.raises(connections.BodyTooLarge) as refused:
        run(scenario())
    assert refused.value.status_code == 200


def test_headers_without_end_are_cut_off():
    headers = {f"X-Filler-{number}": "x" * 1000 for number in range(100)}  # 100 KB of headers

    async def scenario():
        async with ScriptedServer(lambda _: raw("200 OK", {**headers, "Content-Length": "2"}, b"{}")) as server:
            async with pool() as client:
                await fetch(client, server.url())

    with pytest.raises(connections.ConnectionBroken, match="headers are over"):
        run(scenario())


def test_a_gateway_that_stops_answering_times_out():
    async def scenario():
        async with ScriptedServer(lambda _: None) as server:
            async with pool(timeout=0.3) as client:
                await fetch(client, server.url())

    with pytest.raises(connections.ReadTimeout):
        run(scenario())


def test_an_answer_that_is_not_http_is_a_broken_connection():
    async def scenario():
        async with ScriptedServer(lambda _: b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as server:
            async with pool() as client:
                await fetch(client, server.url())

    with pytest.raises(connections.ConnectionBroken):
        run(scenario())


def test_a_header_with_a_line_break_is_refused_and_nothing_is_sent():
    async def scenario():
        async with ScriptedServer(lambda _: raw("200 OK", {"Content-Length": "0"})) as server:
            async with pool() as client:
                with pytest.raises(ValueError, match="line break"):
                    await fetch(client, server.url(), headers={"Authorization": "Bearer sk\r\nX-Evil: 1"})
            return server

    assert run(scenario()).requests == []


def test_a_redirect_to_another_origin_drops_the_key_and_a_303_turns_a_post_into_a_get():
    async def scenario():
        async with ScriptedServer(lambda _: raw("200 OK", {"Content-Length": "2"}, b"{}")) as elsewhere:
            to_elsewhere = raw("303 See Other", {"Location": elsewhere.url("/landed"), "Content-Length": "0"})
            async with ScriptedServer(lambda _: to_elsewhere) as gateway:
                async with pool() as client:
                    answer = await fetch(
                        client, gateway.url(), method="POST", headers={"Authorization": "Bearer sk-secret"}, body=b'{"id": 1}'
                    )
            return gateway, elsewhere, answer

    gateway, elsewhere, answer = run(scenario())
    assert b"Bearer sk-secret" in gateway.requests[0] and gateway.requests[0].startswith(b"POST ")
    assert elsewhere.requests[0].startswith(b"GET /landed HTTP/1.1")
    assert b"sk-secret" not in elsewhere.requests[0] and b"Content-Length" not in elsewhere.requests[0]
    assert answer.from_another_origin and answer.url.endswith("/landed")


def test_a_relative_redirect_on_the_same_origin_keeps_the_key():
    def answer(request: bytes) -> bytes:
        if request.startswith(b"GET /alias"):
            return raw("307 Temporary Redirect", {"Location": "/api/v1/generation?id=1", "Content-Length": "0"})
        return raw("200 OK", {"Content-Length": "2"}, b"{}")

    async def scenario():
        async with ScriptedServer(answer) as server:
            async with pool() as client:
                result = await fetch(client, server.url("/alias?id=1"), headers={"Authorization": "Bearer sk-kept"})
            return server, result

    server, result = run(scenario())
    assert b"Bearer sk-kept" in server.requests[1] and not result.from_another_origin


def test_redirects_without_end_and_to_other_schemes_are_refused():
    async def scenario(location):
        async with ScriptedServer(lambda _: raw("302 Found", {"Location": location, "Content-Length": "0"})) as server:
            async with pool() as client:
                await fetch(client, server.url())

    with pytest.raises(connections.RedirectRefused, match="more than 3"):
        run(scenario("/api/v1/generation"))
    with pytest.raises(connections.RedirectRefused, match="not an http"):
        run(scenario("file:///etc/passwd"))


def test_nothing_listening_is_a_failure_to_connect():
    async def scenario():
        async with ScriptedServer(lambda _: b"") as server:
            url = server.url()
        async with pool() as client:
            await fetch(client, url)

    with pytest.raises(connections.ConnectFailed):
        run(scenario())


def test_tls_is_verified_against_the_given_certificates():
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)

    async def scenario(client_context):
        answer = lambda _: raw("200 OK", {"Content-Length": "11"}, b'{"tls": 1} ')  # noqa: E731
        async with ScriptedServer(answer, tls=server_context) as server:
            async with pool(context=client_context) as client:
                return await fetch(client, server.url(host="localhost"))

    assert run(scenario(trusting)).body == b'{"tls": 1} '
    with pytest.raises(connections.ConnectFailed, match="certificate"):
        run(scenario(ssl.create_default_context()))
