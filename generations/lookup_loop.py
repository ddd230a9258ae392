"""One event loop per worker thread, kept for the life of the process, and the connections that
live on it.

Connections (gateway connection pools, the Redis limiter's client) are bound to the event loop they were
opened on, so running each batch with `asyncio.run` opened them all again for every batch. Here
every batch a thread runs uses the same loop (an `asyncio.Runner`, made on first use, so after
Celery forked the worker process), and what `kept()` made for it stays open between tasks.
`loop_close()` closes the calling thread's loop and what it kept; Celery calls it when a worker
process shuts down (generations/apps.py), and Python at exit for the main thread's.
"""

import asyncio
import atexit
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, TypeVar

# Gateways (or, in tests, simulators) a thread keeps connections to; the least recently used
# beyond it are closed.
MAX_KEPT = 32

Result = TypeVar("Result")


class Closeable(Protocol):
    async def aclose(self) -> None: ...


Kept = TypeVar("Kept", bound=Closeable)


class _ThreadLoop:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.runner = asyncio.Runner()
        self.kept: OrderedDict[Hashable, Any] = OrderedDict()


_local = threading.local()


def _thread_loop() -> _ThreadLoop:
    current = getattr(_local, "loop", None)
    if current is None or current.pid != os.getpid():
        # A loop inherited through fork is the parent's, and so are its sockets: leave them be.
        current = _local.loop = _ThreadLoop()
    return current


def run(coroutine: Awaitable[Result]) -> Result:
    """Run a coroutine to completion on this thread's kept event loop."""
    return _thread_loop().runner.run(coroutine)


async def kept(key: Hashable, make: Callable[[], Kept]) -> Kept:
    """What `make()` made for `key` on this loop, made now if there is none yet (call it from a
    coroutine given to `run`)."""
    loop = _thread_loop()
    if key in loop.kept:
        loop.kept.move_to_end(key)
        return loop.kept[key]
    loop.kept[key] = made = make()
    while len(loop.kept) > MAX_KEPT:
        _, oldest = loop.kept.popitem(last=False)
        await oldest.aclose()
    return made


def loop_close() -> None:
    """Close what this thread's loop kept, then the loop itself."""
    current = getattr(_local, "loop", None)
    _local.loop = None
    if current is None or current.pid != os.getpid():
        return

    async def close_kept() -> None:
        while current.kept:
            _, value = current.kept.popitem(last=False)
            await value.aclose()

    try:
        current.runner.run(close_kept())
    finally:
        current.runner.close()


atexit.register(loop_close)
