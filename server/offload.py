"""Running a request's work off the event loop: each request in one worker thread.

The event loop of a server process accepts connections, reads bodies and answers
``/healthz``; if a query's resolvers, store statements or searches ran on it, one heavy
query would stall every other request of the process (see docs/decisions/0008). So a
request's whole GraphQL execution (parsing, limits, resolvers, DataLoaders, serialising
the answer) runs in a worker thread, on an event loop of its own made for the request:
Strawberry's async resolvers and DataLoaders work as they do anywhere, everything the
request does happens in that one thread (its store session is never shared between
threads), and the process's loop only waits for the answer.

``threads`` bounds how many requests of a process work at once; the rest wait, without a
thread, until one is free or their time is up. Past its deadline the work is abandoned by
the loop (which answers with a timeout at once) and stops by itself in its thread: its
store statements and searches carry the same deadline (``Context.deadline``).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class WorkerThreads:
    def __init__(self, threads: int) -> None:
        self.limiter = anyio.CapacityLimiter(threads)

    @property
    def busy(self) -> int:
        """Requests working in a thread now."""
        return int(self.limiter.borrowed_tokens)

    async def run(
        self, work: Callable[[], Coroutine[Any, Any, T]], deadline: float | None = None
    ) -> T:
        """``work()`` run to completion in a worker thread on its own event loop; its
        awaits are cancelled at ``deadline`` (``time.monotonic()``) with ``TimeoutError``."""
        return await anyio.to_thread.run_sync(
            functools.partial(_run, work, deadline), limiter=self.limiter, abandon_on_cancel=True
        )


def _run(work: Callable[[], Coroutine[Any, Any, T]], deadline: float | None) -> T:
    timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    with asyncio.Runner() as runner:
        return runner.run(asyncio.wait_for(work(), timeout))
