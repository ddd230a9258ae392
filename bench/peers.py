"""The clients Tally's lookups are measured beside: the floor, a bare httpx loop, the official SDK.

Each peer looks the same OpenRouter generations up at the simulator, at the same concurrency,
with keep-alive, and parses every answer exactly (JSON numbers as Decimal; the SDK parses its own
way). Each runs in a fresh process of its own (`python -m bench.peers PEER ...`), so that its CPU
time is its own: the process's user + system time over the timed loop alone, divided by the
lookups. Lookups per second is the loop's wall time.

- `floor`: a minimal asyncio HTTP/1.1 client (one request line, three headers, Content-Length
  bodies, nothing else), the least CPU a Python lookup can cost on this machine.
- `httpx`: one `httpx.AsyncClient` and a plain loop, what a careful script would write.
- `openrouter_sdk`: the official `openrouter` package's `generations.get_generation_async`, what a
  user would script instead of Tally.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from urllib.parse import urlsplit

PEERS = ("floor", "httpx", "openrouter_sdk")


@dataclass(frozen=True)
class PeerRun:
    peer: str
    lookups: int
    ok: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_ms_per_lookup(self) -> float:
        return self.cpu_seconds * 1000 / self.lookups

    @property
    def lookups_per_second(self) -> float:
        return self.lookups / self.wall_seconds


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _floor_lookups(base_url: str, key: str, ids: list[str], concurrency: int) -> int:
    parts = urlsplit(base_url)
    host, port, prefix = parts.hostname, parts.port or 80, parts.path.rstrip("/")
    queue = list(reversed(ids))
    ok = 0

    async def connection() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue:
                generation_id = queue.pop()
                writer.write(
                    f"GET {prefix}/api/v1/generation?id={generation_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {key}\r\nAccept: application/json\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = json.loads(await reader.readexactly(length), parse_float=Decimal)
                ok += status == 200 and "data" in body
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(ids)))))
    return ok


async def _httpx_lookups(base_url: str, key: str, ids: list[str], concurrency: int) -> int:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(reversed(ids))
    ok = 0
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, limits=limits) as client:

        async def worker() -> None:
            nonlocal ok
            while queue:
                response = await client.get("/api/v1/generation", params={"id": queue.pop()})
                body = json.loads(response.content, parse_float=Decimal)
                ok += response.status_code == 200 and "data" in body

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))
    return ok


async def _sdk_lookups(base_url: str, key: str, ids: list[str], concurrency: int) -> int:
    import httpx
    from openrouter import OpenRouter

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(reversed(ids))
    ok = 0
    async with httpx.AsyncClient(limits=limits) as async_client:
        sdk = OpenRouter(api_key=key, server_url=base_url.rstrip("/") + "/api/v1", async_client=async_client)

        async def worker() -> None:
            nonlocal ok
            while queue:
                generation_id = queue.pop()
                try:
                    answer = await sdk.generations.get_generation_async(id=generation_id)
                except Exception as error:  # a refused answer still cost what it cost; count it as not ok
                    print(f"openrouter_sdk: {type(error).__name__}: {str(error)[:200]}", file=sys.stderr)
                    continue
                ok += answer.data.id == generation_id

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))
    return ok


LOOPS: dict[str, Callable[[str, str, list[str], int], Awaitable[int]]] = {
    "floor": _floor_lookups,
    "httpx": _httpx_lookups,
    "openrouter_sdk": _sdk_lookups,
}


def measure(peer: str, *, base_url: str, key: str, ids: list[str], concurrency: int) -> PeerRun:
    """Run one peer's loop in this process and return its CPU and wall time over the loop alone."""
    loop = LOOPS[peer]
    cpu_before, wall_before = _cpu_seconds(), time.perf_counter()
    ok = asyncio.run(loop(base_url, key, ids, concurrency))
    return PeerRun(
        peer=peer,
        lookups=len(ids),
        ok=ok,
        cpu_seconds=_cpu_seconds() - cpu_before,
        wall_seconds=time.perf_counter() - wall_before,
    )


def run_in_subprocess(peer: str, *, base_url: str, key: str, ids: list[str], concurrency: int) -> PeerRun:
    """Measure `peer` in a fresh interpreter, so that no other client's CPU time is counted."""
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-m", "bench.peers", peer, "--base-url", base_url, "--key", key, "--concurrency", str(concurrency)],
        input="\n".join(ids),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"peer {peer} failed: {completed.stderr[-2000:]}")
    return PeerRun(**json.loads(completed.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("peer", choices=PEERS)
    parser.add_argument("--base-url", required=True, help="the simulator's OpenRouter base URL")
    parser.add_argument("--key", required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    arguments = parser.parse_args(argv)
    ids = [line.strip() for line in sys.stdin if line.strip()]
    run = measure(arguments.peer, base_url=arguments.base_url, key=arguments.key, ids=ids, concurrency=arguments.concurrency)
    print(json.dumps(asdict(run)))


if __name__ == "__main__":
    main()
