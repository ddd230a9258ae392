"""The simulator's memory: records, configuration, per-id scripts and statistics."""

import random
import time
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from demo.simulator.records import PROTOCOLS, SimulatedRecord


@dataclass
class SimulatorConfig:
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    rate_limit_per_second: int = 0
    not_found_seconds: float = 0.0
    retention_seconds: float | None = None
    payment_required: bool | list[str] = False
    timeout_hold_seconds: float = 35.0
    generate_unknown: bool = False
    keys: list[str] = field(default_factory=list)
    seed: int | None = None
    # OpenRouter account endpoints (activity.py): which bearers are management keys, key names.
    management_keys: list[str] = field(default_factory=list)
    key_names: dict[str, str] = field(default_factory=dict)
    keys_page_size: int = 100

    def update(self, changes: dict[str, Any]) -> None:
        """Apply changes after checking every one of them; ValueError says which is wrong."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(changes) - known - {"scripts"})
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}; known: {', '.join(sorted(known | {'scripts'}))}")
        checked = {name: _checked(name, value) for name, value in changes.items() if name != "scripts"}
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def payment_required_for(self, protocol: str) -> bool:
        if isinstance(self.payment_required, list):
            return protocol in self.payment_required
        return bool(self.payment_required)


def _checked(name: str, value: Any) -> Any:
    if name in ("latency_ms", "not_found_seconds", "timeout_hold_seconds") or (
        name == "retention_seconds" and value is not None
    ):
        number = float(value)
        if number < 0:
            raise ValueError(f"{name} must be at least 0")
        return number
    if name == "fault_rate":
        rate = float(value)
        if not 0 <= rate <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        return rate
    if name == "rate_limit_per_second":
        limit = int(value)
        if limit < 0:
            raise ValueError("rate_limit_per_second must be at least 0 (0 = no limit)")
        return limit
    if name == "payment_required":
        if isinstance(value, list) and all(protocol in PROTOCOLS for protocol in value):
            return value
        if isinstance(value, bool):
            return value
        raise ValueError("payment_required must be true, false or a list of protocols")
    if name == "generate_unknown":
        if not isinstance(value, bool):
            raise ValueError("generate_unknown must be true or false")
        return value
    if name == "key_names":
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in [*value, *value.values()]):
            raise ValueError("key_names must map key secrets to names")
        return value
    if name == "keys_page_size":
        size = int(value)
        if size < 1:
            raise ValueError("keys_page_size must be at least 1")
        return size
    if name in ("keys", "management_keys"):
        if not isinstance(value, list) or not all(isinstance(key, str) and key for key in value):
            raise ValueError(f"{name} must be a list of non-empty strings")
        return value
    if name == "seed":
        return None if value is None else int(value)
    return value


@dataclass
class SimulatorStats:
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    by_protocol: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    lookups: Counter = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "statuses": {str(status): count for status, count in self.statuses.items()},
            "by_protocol": {
                protocol: {str(status): count for status, count in counts.items()}
                for protocol, counts in self.by_protocol.items()
            },
            "lookups": dict(self.lookups),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "seconds": round(time.monotonic() - self.started_at, 3),
        }


class SimulatorState:
    """Everything the server knows. It runs on one event loop, so no locks are needed."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.records: dict[tuple[str, str], SimulatedRecord] = {}
        self.keys: dict[str, set[str]] = defaultdict(set)
        self.scripts: dict[str, deque[str]] = {}
        self.stats = SimulatorStats()
        self.random = random.Random(self.config.seed)
        self._window: dict[str, tuple[int, int]] = {}

    def add_records(self, records: list[SimulatedRecord]) -> None:
        for record in records:
            self.records[(record.protocol, record.id)] = record
            if record.key:
                self.keys[record.protocol].add(record.key)
            if record.script:
                self.scripts[record.id] = deque(record.script)
            else:
                self.scripts.pop(record.id, None)

    def set_scripts(self, scripts: Any) -> None:
        if not isinstance(scripts, dict) or not all(
            isinstance(steps, list) and all(isinstance(step, str) for step in steps) for steps in scripts.values()
        ):
            raise ValueError('scripts must look like {"ID": ["404", "ok"]}')
        for generation_id, steps in scripts.items():
            self.scripts[str(generation_id)] = deque(steps)

    def configure(self, changes: dict[str, Any]) -> None:
        scripts = changes.get("scripts")
        if scripts is not None:
            self.set_scripts(scripts)
        self.config.update(changes)
        if "seed" in changes:
            self.random.seed(self.config.seed)

    def reset(self, *, records: bool = False, config: bool = False) -> None:
        self.stats = SimulatorStats()
        self._window.clear()
        if records:
            self.records.clear()
            self.keys.clear()
            self.scripts.clear()
        if config:
            self.config = SimulatorConfig()
            self.random.seed(None)

    def next_scripted_answer(self, generation_id: str) -> str | None:
        steps = self.scripts.get(generation_id)
        if not steps:
            return None
        return steps.popleft()

    def key_is_valid(self, protocol: str, key: str) -> bool:
        known = self.keys.get(protocol, set())
        if not known and not self.config.keys:
            return True
        return key in known or key in self.config.keys

    def over_rate_limit(self, protocol: str) -> bool:
        limit = self.config.rate_limit_per_second
        if not limit:
            return False
        second = int(time.monotonic())
        window_second, count = self._window.get(protocol, (second, 0))
        if window_second != second:
            count = 0
        self._window[protocol] = (second, count + 1)
        return count + 1 > limit

    def used_this_second(self, protocol: str) -> int:
        """Requests counted against the rate limit in the current second (for X-RateLimit-*)."""
        window_second, count = self._window.get(protocol, (int(time.monotonic()), 0))
        return count if window_second == int(time.monotonic()) else 0

    def visible(self, record: SimulatedRecord, now: datetime | None = None) -> bool:
        """Whether the gateway shows the record yet (and still): outside both 404 windows."""
        now = now or datetime.now(timezone.utc)
        if now < record.created_at + timedelta(seconds=self.config.not_found_seconds):
            return False
        retention = self.config.retention_seconds
        return retention is None or now <= record.created_at + timedelta(seconds=retention)
