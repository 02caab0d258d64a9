"""Running a request's work off the event loop: each request in one worker thread.

The event loop of a server process accepts connections, reads bodies and answers
``/healthz``; if a query's resolvers, store statements or searches ran on it, one heavy
query would stall every other request of the process (see docs/decisions/0008). So a
request's whole GraphQL execution (parsing, limits, resolvers, DataLoaders, serialising
the answer) runs in a worker thread, on that thread's own event loop: Strawberry's async
resolvers and DataLoaders work as they do anywhere, everything the request does happens in
that one thread (its store session is never shared between threads), and the process's
loop only waits for the answer.

``threads`` bounds how many requests of a process work at once; the rest wait in line
until one is free. And requests take turns: one starts only when every request already
working has worked for ``overlap_after`` seconds, in the order they reached a thread. So
light requests (a few milliseconds each) work one after another rather than side by side,
where they would share the GIL and the caches for nothing: their latency is more even,
and on a process with a core to spare each costs a fifth less CPU (docs/decisions/0011).
A heavy request holds the others back by ``overlap_after`` at most, then shares the
process with them. A request whose time ran out while it waited starts with no time
left, and stops at its first statement. Past its deadline the work is
abandoned by the process's loop, which answers with a timeout at once, and stops by itself
in its thread: its awaits are cancelled, and its store statements and searches carry the
same deadline (``Context.deadline``).

Each thread keeps its event loop from one request to the next (making one costs about a
quarter of a millisecond); whatever a request left on it is cancelled before the next.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# Seconds a request works alone before the next one may start beside it. Light requests
# take 3-10 ms of CPU; a request still working after this is a heavy one, and others
# should not wait for it to end.
OVERLAP_AFTER = 0.025


class WorkerThreads:
    def __init__(self, threads: int, overlap_after: float = OVERLAP_AFTER) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="plan-archive-request")
        self._overlap_after = overlap_after
        self._turns = threading.Condition()
        self._working: dict[int, float] = {}  # thread id: when its request started working
        self._line: deque[object] = deque()  # the requests waiting for their turn, in order
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()
        # Loops are closed when the server shuts down, or when this object is forgotten.
        self._finalizer = weakref.finalize(self, _close, self._pool, self._loops)

    async def run(
        self, work: Callable[[], Coroutine[Any, Any, T]], deadline: float | None = None
    ) -> T:
        """``work()`` run to completion in a worker thread on its event loop; its awaits are
        cancelled at ``deadline`` (``time.monotonic()``) with ``TimeoutError``."""
        loop = asyncio.get_running_loop()
        # The request's context variables (its request id, for the log lines) go with it.
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, context.run, self._run, work, deadline)

    def close(self) -> None:
        """Wait for the work in progress, then close every thread's loop."""
        self._finalizer()

    def _run(self, work: Callable[[], Coroutine[Any, Any, T]], deadline: float | None) -> T:
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
            with self._lock:
                self._loops.append(loop)
        self._take_turn()
        try:
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                return loop.run_until_complete(asyncio.wait_for(work(), timeout))
            finally:
                _cancel_leftovers(loop)
        finally:
            with self._turns:
                del self._working[threading.get_ident()]
                self._turns.notify_all()

    def _take_turn(self) -> None:
        """Wait until this thread's request may start (see the module's docstring)."""
        me = object()
        with self._turns:
            self._line.append(me)
            while True:
                now = time.monotonic()
                if self._line[0] is me:
                    youngest = max(self._working.values(), default=None)
                    if youngest is None or now - youngest >= self._overlap_after:
                        break
                    self._turns.wait(youngest + self._overlap_after - now)
                else:
                    self._turns.wait()
            self._line.popleft()
            self._working[threading.get_ident()] = now
            self._turns.notify_all()  # the next in line starts counting from this one


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a request left running on ``loop`` (a DataLoader batch of a request
    that timed out), so it never runs during the next request."""
    leftovers = asyncio.all_tasks(loop)
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


def _close(pool: ThreadPoolExecutor, loops: list[asyncio.AbstractEventLoop]) -> None:
    pool.shutdown(wait=True, cancel_futures=True)
    for loop in loops:
        loop.close()
