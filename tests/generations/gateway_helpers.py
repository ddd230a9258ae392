"""Shared by the gateway tests: simulator record specs and single lookups over real HTTP."""

import asyncio
import concurrent.futures
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from demo.simulator.records import sample_body
from generations.gateways.base import LookupOutcome, LookupRequest
from generations.gateways.client import GatewayConnection, Limiter, lookup_batch


def lookup_batch_sync(
    connection: GatewayConnection,
    requests: Sequence[LookupRequest],
    *,
    limiter: Limiter | None = None,
) -> list[LookupOutcome]:
    """lookup_batch from a test, which is not async (or runs inside an event loop)."""
    coroutine = lookup_batch(connection, requests, limiter=limiter)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from inside an event loop: run the batch on a loop of its own in another thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


KINDS = ("openrouter", "fastrouter", "kushrouter")
KEY = "sk-test-key-a"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateways"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def body_for(kind: str, generation_id: str, **overrides: Any) -> dict[str, Any]:
    body = sample_body(
        kind,
        generation_id=generation_id,
        model="openai/gpt-4o-mini",
        provider="OpenAI",
        created_at=datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc),
        tokens_prompt=1200,
        tokens_completion=300,
        tokens_cached=200,
        tokens_reasoning=40,
        cost=Decimal("0.00036"),
        key_hash="hash-of-key-a",
    )
    body.update(overrides)
    return body


def spec_for(kind: str, generation_id: str, *, key: str = KEY, **fields: Any) -> dict[str, Any]:
    spec = {
        "protocol": kind,
        "id": generation_id,
        "key": key,
        "created_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(),
        "body": body_for(kind, generation_id),
    }
    spec.update(fields)
    return spec


def lookup_one(
    simulator, kind: str, generation_id: str, *, key: str = KEY, timeout: float = 5.0, base_url: str | None = None
) -> LookupOutcome:
    connection = GatewayConnection(
        kind=kind, base_url=base_url or simulator.base_url(kind), concurrency=4, timeout_seconds=timeout
    )
    [outcome] = lookup_batch_sync(connection, [LookupRequest(generation_id=generation_id, secret=key)])
    return outcome
