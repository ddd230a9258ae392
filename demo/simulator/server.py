"""Running the simulator: in the foreground (the management command) or in a background
thread on a free port (tests and benchmarks), plus a small client for its control endpoints."""

import logging
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from demo.simulator.answers import SimulatedConnectionReset
from demo.simulator.app import create_app
from demo.simulator.records import PROTOCOLS, generated_record, parse_specs
from demo.simulator.state import SimulatorConfig, SimulatorState
from lib.exact_json import dumps_exact, loads_exact


class _HideSimulatedResets(logging.Filter):
    """A simulated reset is raised on purpose; uvicorn would log each as a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedConnectionReset))


logging.getLogger("uvicorn.error").addFilter(_HideSimulatedResets())


def build_state(*, config: SimulatorConfig | None = None, data: Path | None = None, generate: int = 0) -> SimulatorState:
    """A state loaded from a JSONL file and with `generate` fabricated records per protocol."""
    state = SimulatorState(config)
    if data is not None:
        state.add_records(parse_specs(data.read_text()))
    for protocol in PROTOCOLS:
        state.add_records([generated_record(protocol, f"{protocol}-sim-{index}") for index in range(generate)])
    return state


def uvicorn_config(app, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )


def serve_forever(state: SimulatorState, *, host: str, port: int) -> None:
    """Serve in the foreground until interrupted (Ctrl-C / SIGTERM)."""
    uvicorn.Server(uvicorn_config(create_app(state), host=host, port=port)).run()


class SimulatorClient:
    """Drives a running simulator through its control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=30)

    def base_url(self, protocol: str) -> str:
        """The base URL a Gateway of this kind should use, e.g. http://127.0.0.1:PORT/openrouter."""
        return f"{self.url}/{protocol}"

    def add_records(self, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return self._post("/_sim/records", "\n".join(dumps_exact(record) for record in records))

    def configure(self, **settings: Any) -> dict[str, Any]:
        return self._post("/_sim/config", dumps_exact(settings))

    def stats(self) -> dict[str, Any]:
        response = self._http.get("/_sim/stats")
        response.raise_for_status()
        return loads_exact(response.text)

    def reset(self, *, records: bool = False, config: bool = False) -> dict[str, Any]:
        return self._post(f"/_sim/reset?records={int(records)}&config={int(config)}", "")

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, content: str) -> dict[str, Any]:
        response = self._http.post(path, content=content)
        if response.status_code != 200:
            raise ValueError(f"the simulator refused {path}: {response.text}")
        return loads_exact(response.text)


class BackgroundSimulator(SimulatorClient):
    """A simulator served from a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, state: SimulatorState | None = None, *, host: str = "127.0.0.1") -> None:
        self.state = state or SimulatorState()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        port = listener.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(create_app(self.state), host=host, port=port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [listener]}, name=f"gateway-simulator-{port}", daemon=True
        )
        self._listener = listener
        super().__init__(f"http://{host}:{port}")

    def start(self, timeout: float = 15.0) -> "BackgroundSimulator":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._listener.close()

    def __enter__(self) -> "BackgroundSimulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
