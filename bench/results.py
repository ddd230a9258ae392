"""What a run measured: per scenario its figures and the targets they are checked against."""

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

from bench.environment import PROJECT_DIR


@dataclass(frozen=True)
class Check:
    """One target: a measured figure, the limit it is compared with, their ratio, and the verdict."""

    measure: str
    limit: str
    ratio: float | None
    target: str
    met: bool


@dataclass
class ScenarioResult:
    name: str
    figures: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def code_version() -> dict:
    """The commit measured, and tracked files changed from it (the tree others work in)."""

    def git(*arguments: str) -> str:
        try:
            return subprocess.run(
                ["git", *arguments], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD"), "changed": git("diff", "--name-only", "HEAD").split()}


def results_write(
    path: Path,
    *,
    scale: str,
    setup_seconds: float,
    started_at: datetime,
    results: list[ScenarioResult],
    database_sizes: list[dict] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "scale": scale,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "machine": machine(),
        "code": code_version(),
        "setup_seconds": round(setup_seconds, 1),
        "scenarios": {result.name: asdict(result) for result in results},
        "database_sizes": database_sizes or [],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def results_table(results: list[ScenarioResult]) -> str:
    header = ("scenario", "figure", "limit", "ratio", "target", "met?")
    rows = [header]
    for result in results:
        if result.error:
            rows.append((result.name, f"FAILED: {result.error.splitlines()[0][:90]}", "", "", "", "no"))
            continue
        for check in result.checks:
            ratio = "" if check.ratio is None else f"{check.ratio:.2f}"
            rows.append((result.name, check.measure, check.limit, ratio, check.target, "yes" if check.met else "NO"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
