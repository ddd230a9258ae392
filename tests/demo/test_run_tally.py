"""`make run`'s last step, `manage.py run_tally`: everything starts, serves, and stops on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.management import get_commands

BASE_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 55
STOP_TIMEOUT_SECONDS = 40

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_with_environment_value(value: str) -> list[int]:
    """Ids of live processes whose environment mentions value (children inherit the var dir)."""
    found = []
    needle = value.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes() and b"Z" not in _state(entry):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _state(process_directory: Path) -> bytes:
    # The field after the parenthesised name: R, S, Z (zombie, already exited), ...
    return (process_directory / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]


def wait_until_ok(url: str, *, deadline: float, process: subprocess.Popen) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, f"run_tally exited early with {process.returncode}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {START_TIMEOUT_SECONDS} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def run_environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TALLY_PORT", "TALLY_SIMULATOR_PORT")
    }
    environment.update(TALLY_VAR_DIR=str(tmp_path / "var"), DEBUG="1", PYTHONUNBUFFERED="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
        timeout=120,
    )
    yield environment
    # Whatever the test's outcome, leave nothing running (the test asserts there is nothing first).
    for pid in processes_with_environment_value(environment["TALLY_VAR_DIR"]):
        os.kill(pid, signal.SIGKILL)


def test_it_serves_the_login_pages_and_stops_every_process_on_ctrl_c(run_environment: dict[str, str]) -> None:
    web_port, simulator_port = free_port(), free_port()
    log_path = Path(run_environment["TALLY_VAR_DIR"]) / "run_tally.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_tally", "--port", str(web_port), "--simulator-port", str(simulator_port)],
            cwd=BASE_DIR,
            env=run_environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            wait_until_ok(f"http://127.0.0.1:{web_port}/accounts/login/", deadline=deadline, process=process)
            wait_until_ok(f"http://127.0.0.1:{web_port}/admin/login/", deadline=deadline, process=process)
            output = log_path.read_text()
            children = [int(pid) for pid in re.findall(r"started \(pid=(\d+)\)", output)]
            expected = {"web", "worker", "beat"} | ({"simulator"} if "simulate_gateways" in get_commands() else set())
            assert set(re.findall(r"(\w+) started \(pid=", output)) == expected

            process.send_signal(signal.SIGINT)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        finally:
            stop(process)

    output = log_path.read_text()
    assert "SIGINT received" in output
    assert process.returncode == 0, output[-3000:]
    assert f"Tally is running at http://127.0.0.1:{web_port}/" in output
    assert not processes_with_environment_value(run_environment["TALLY_VAR_DIR"]), output[-3000:]
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or _state(Path(f"/proc/{pid}")) == b"Z", output[-3000:]
