"""The benchmark suite at small scale, inside the test suite, so the benchmark code cannot rot.

Timings are not asserted here (they belong to BENCHMARKS.md and a quiet machine): only that every
scenario runs to the end against the real services and reports positive figures.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from bench.cli import SCENARIO_NAMES
from bench.growth import FLAT_FIGURES, stage_name
from bench.processes import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]


# The growth stage runs too: one month, then a second generated beside it.
MONTHS = 2


def run_bench(*arguments: str, environment: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *arguments],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def bench_database_name() -> str:
    """Its own database, next to the one the tests were given (never pytest-django's test_ one)."""
    return urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") + "_bench_test"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_it_runs_every_scenario_at_small_scale_and_reports_positive_figures(tmp_path: Path) -> None:
    results_path = tmp_path / "results.json"
    environment = dict(os.environ, TALLY_VAR_DIR=str(tmp_path / "var"))
    finished = run_bench(
        "--scale", "small", "--months", str(MONTHS), "--database", bench_database_name(),
        "--redis-url", os.environ["REDIS_URL"], "--results", str(results_path),
        environment=environment,
        timeout=540,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-3000:]

    results = json.loads(results_path.read_text())
    assert results["scale"] == "small"
    assert results["machine"]["cores"] >= 1
    months = MONTHS
    measured_again = {stage_name(name, months) for name in FLAT_FIGURES} | {"growth"} if months > 1 else set()
    assert set(results["scenarios"]) == set(SCENARIO_NAMES) | measured_again
    assert [size["months"] for size in results["database_sizes"]] == ([1, months] if months > 1 else [1])
    assert all(size["bytes"] > 0 and size["generations"] > 0 for size in results["database_sizes"])
    for name, scenario in results["scenarios"].items():
        assert scenario["error"] is None, name
        assert scenario["figures"], name
        assert all(value > 0 for value in scenario["figures"].values()), (name, scenario["figures"])
        assert scenario["checks"], name
        assert all(check["ratio"] > 0 for check in scenario["checks"]), (name, scenario["checks"])
    # Reconciliation is timed in steady state: after the warm-up, never over all of the run.
    reconciliation = results["scenarios"]["reconciliation"]["figures"]
    assert reconciliation["reconciled"] == reconciliation["generations"]
    assert 0 < reconciliation["measured"] < reconciliation["reconciled"]
    for name in SCENARIO_NAMES:
        assert name in finished.stdout  # the table
    # Indexes dropped for the load are rebuilt on every partition, not only (invalid) on the parent.
    with psycopg.connect(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + bench_database_name()).geturl()) as db:
        assert db.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid").fetchall() == []


def test_it_exits_non_zero_saying_postgresql_is_needed_when_it_is_not_there(tmp_path: Path) -> None:
    closed_port = free_port()
    environment = dict(
        os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port}/tally", TALLY_VAR_DIR=str(tmp_path)
    )
    finished = run_bench("--scale", "small", environment=environment, timeout=60)
    assert finished.returncode == 2
    assert "PostgreSQL is not reachable" in finished.stdout
    assert not (tmp_path / "bench" / "results.json").exists()


@pytest.mark.postgres
def test_it_exits_non_zero_saying_redis_is_needed_when_it_is_not_there(tmp_path: Path) -> None:
    closed_port = free_port()
    environment = dict(os.environ, TALLY_VAR_DIR=str(tmp_path))
    finished = run_bench(
        "--scale", "small", "--database", bench_database_name(), "--redis-url", f"redis://127.0.0.1:{closed_port}/0",
        environment=environment,
        timeout=60,
    )  # fmt: skip
    assert finished.returncode == 2
    assert "Redis is not reachable" in finished.stdout

