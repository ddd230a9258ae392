"""The gateway simulator itself: loading records, faults, statistics and the command."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from generations.gateways.base import GatewayGenerationRecord, LookupRequest
from generations.gateways.client import GatewayConnection
from lib.exact_json import dumps_exact
from tests.generations.gateway_helpers import KEY, lookup_batch_sync, lookup_one, spec_for

ROOT = Path(__file__).resolve().parents[2]


def test_it_refuses_a_bad_record_spec_naming_the_line_and_loads_nothing(gateway_simulator):
    good = '{"protocol": "openrouter", "id": "gen-1", "body": {}}'
    bad = '{"protocol": "openrouterx", "id": "gen-2", "body": {}}'
    response = httpx.post(f"{gateway_simulator.url}/_sim/records", content=f"{good}\n{bad}\n")
    assert response.status_code == 400
    assert "line 2" in response.json()["error"]
    assert gateway_simulator.stats()["records"] == 0


def test_it_refuses_unknown_settings(gateway_simulator):
    with pytest.raises(ValueError, match="latency_milliseconds"):
        gateway_simulator.configure(latency_milliseconds=5)
    with pytest.raises(ValueError, match="fault_rate"):
        gateway_simulator.configure(fault_rate=2)


def test_faults_at_the_fault_rate_are_a_mix_and_never_crash_the_client(gateway_simulator):
    gateway_simulator.configure(fault_rate=0.5, generate_unknown=True, timeout_hold_seconds=1, seed=7)
    connection = GatewayConnection(
        kind="openrouter", base_url=gateway_simulator.base_url("openrouter"), concurrency=32, timeout_seconds=0.5
    )
    outcomes = lookup_batch_sync(connection, [LookupRequest(f"gen-{index}", KEY) for index in range(300)])
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert 90 <= kinds["GatewayGenerationRecord"] <= 210
    assert {"TransientFailure", "BadPayload", "RateLimited"} <= set(kinds)
    statuses = gateway_simulator.stats()["statuses"]
    assert {"500", "502", "429", "reset"} <= set(statuses)


def test_lookups_are_counted_per_id_protocol_and_status(gateway_simulator):
    gateway_simulator.add_records([spec_for("fastrouter", "fr-1", script=["404"])])
    lookup_one(gateway_simulator, "fastrouter", "fr-1")
    lookup_one(gateway_simulator, "fastrouter", "fr-1")
    stats = gateway_simulator.stats()
    assert stats["lookups"] == {"fr-1": 2}
    assert stats["by_protocol"]["fastrouter"] == {"404": 1, "200": 1}
    gateway_simulator.reset()
    assert gateway_simulator.stats()["total_requests"] == 0
    assert gateway_simulator.stats()["records"] == 1


def test_a_request_without_a_bearer_key_is_unauthorised(gateway_simulator):
    gateway_simulator.add_records([spec_for("openrouter", "gen-1")])
    response = httpx.get(f"{gateway_simulator.base_url('openrouter')}/api/v1/generation", params={"id": "gen-1"})
    assert response.status_code == 401


def test_generated_records_look_like_real_ones(gateway_simulator):
    gateway_simulator.configure(generate_unknown=True)
    for kind in ("openrouter", "fastrouter", "kushrouter"):
        record = lookup_one(gateway_simulator, kind, f"{kind}-made-up")
        assert isinstance(record, GatewayGenerationRecord)
        assert record.tokens_prompt and record.served_model
        again = lookup_one(gateway_simulator, kind, f"{kind}-made-up")
        assert (again.served_model, again.tokens_prompt, again.tokens_completion) == (
            record.served_model,
            record.tokens_prompt,
            record.tokens_completion,
        )


def test_the_command_serves_records_from_a_jsonl_file(tmp_path):
    data = tmp_path / "records.jsonl"
    data.write_text(dumps_exact(spec_for("kushrouter", "chatcmpl-file")) + "\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulate_gateways", "--port", str(port), "--data", str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first_line = process.stdout.readline()
        assert "1 records" in first_line
        base_url = f"http://127.0.0.1:{port}/kushrouter"
        deadline = time.monotonic() + 20
        outcome = None
        while time.monotonic() < deadline:
            outcome = lookup_one(None, "kushrouter", "chatcmpl-file", base_url=base_url)
            if isinstance(outcome, GatewayGenerationRecord):
                break
            time.sleep(0.1)
        assert isinstance(outcome, GatewayGenerationRecord)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
