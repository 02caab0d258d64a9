"""Requests take turns in a server process's worker threads (server/offload.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time

from server.offload import WorkerThreads


def _spans(threads: WorkerThreads, requests: int, seconds: float) -> list[tuple[float, float]]:
    """When each of ``requests`` sent at once worked (start, end), each ``seconds`` of CPU."""
    spans: list[tuple[float, float]] = []

    async def work() -> None:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            pass
        spans.append((start, time.monotonic()))

    async def send() -> None:
        await asyncio.gather(*(threads.run(work) for _ in range(requests)))

    asyncio.run(send())
    return sorted(spans)


def test_short_requests_work_one_after_another() -> None:
    threads = WorkerThreads(4, overlap_after=1.0)
    try:
        spans = _spans(threads, 8, 0.005)
    finally:
        threads.close()
    assert len(spans) == 8
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start


def test_without_turns_requests_work_side_by_side() -> None:
    # The test above would pass with one thread whatever the turns; here the same requests,
    # allowed to overlap at once, do overlap: the threads are there for the long ones.
    threads = WorkerThreads(4, overlap_after=0.0)
    try:
        spans = _spans(threads, 8, 0.05)
    finally:
        threads.close()
    assert any(end > next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_a_long_request_lets_the_next_one_start_beside_it() -> None:
    threads = WorkerThreads(2, overlap_after=0.05)
    started = threading.Event()
    short_done = threading.Event()

    async def long() -> bool:
        started.set()
        return short_done.wait(timeout=30)  # ends once the short request has worked

    async def short() -> None:
        short_done.set()

    async def send() -> bool:
        first = asyncio.ensure_future(threads.run(long))
        await asyncio.to_thread(started.wait, 30)
        await threads.run(short)
        return await first

    try:
        assert asyncio.run(send())
    finally:
        threads.close()


def test_a_request_that_fails_gives_up_its_turn() -> None:
    threads = WorkerThreads(2, overlap_after=1000.0)  # the next would wait for it to end

    async def fails() -> None:
        raise ValueError("the request's own failure")

    async def works() -> str:
        return "answered"

    async def send() -> str:
        with contextlib.suppress(ValueError):
            await threads.run(fails)
        return await asyncio.wait_for(threads.run(works), 30)

    try:
        assert asyncio.run(send()) == "answered"
    finally:
        threads.close()
