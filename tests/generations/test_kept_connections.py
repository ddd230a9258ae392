"""A worker keeps its gateway connections open from one batch to the next, and a kept
connection the gateway has closed meanwhile is replaced, not reported as a failure."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from demo.simulator.records import envelope
from generations import lookup_loop
from generations.fetching import lookups_run
from lib.exact_json import dumps_exact
from generations.gateways.base import GatewayGenerationRecord, LookupRequest
from tests.billing.reconciliation_world import world_create
from tests.generations.gateway_helpers import body_for


class KeepAliveGateway(ThreadingHTTPServer):
    """Answers OpenRouter lookups over HTTP/1.1 keep-alive, counting the connections it accepts;
    with `close_after_answer`, it hangs up after each answer without saying so beforehand."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.close_after_answer = False

    def get_request(self):
        self.connections += 1
        return super().get_request()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        generation_id = parse_qs(urlsplit(self.path).query)["id"][0]
        body = dumps_exact(envelope("openrouter", body_for("openrouter", generation_id))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.close_after_answer:
            self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def keep_alive_gateway() -> Iterator[KeepAliveGateway]:
    server = KeepAliveGateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    lookup_loop.loop_close()
    server.shutdown()
    server.server_close()


def lookup_twice(keep_alive_gateway: KeepAliveGateway) -> list[object]:
    world = world_create(simulator_url=keep_alive_gateway.url, concurrency=1, tag="kept")
    gateway = world.gateways["openrouter"]
    outcomes = []
    for index in range(2):
        outcomes += lookups_run(gateway=gateway, requests=[LookupRequest(f"gen-kept-{index}", "sk-test-key-a")])
    return outcomes


def test_two_batches_share_one_connection(db, keep_alive_gateway):
    outcomes = lookup_twice(keep_alive_gateway)

    assert [outcome.id for outcome in outcomes] == ["gen-kept-0", "gen-kept-1"]
    assert keep_alive_gateway.connections == 1


def test_a_connection_the_gateway_closed_is_replaced_not_failed(db, keep_alive_gateway):
    keep_alive_gateway.close_after_answer = True

    outcomes = lookup_twice(keep_alive_gateway)

    assert all(isinstance(outcome, GatewayGenerationRecord) for outcome in outcomes), outcomes
    assert keep_alive_gateway.connections == 2
