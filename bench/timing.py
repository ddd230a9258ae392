"""Timing helpers shared by the scenarios."""

import time
from collections.abc import Callable


def best_of(repeats: int, action: Callable[[], object], *, before: Callable[[], object] | None = None) -> float:
    """The shortest of `repeats` timed runs of `action` (`before` runs untimed ahead of each)."""
    best = float("inf")
    for _ in range(repeats):
        if before:
            before()
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]
