"""Kept-alive connections spread evenly over the worker processes of ``plan-archive serve``.

The workers accept from one listening socket, and which of them takes a new connection is the
kernel's choice; a kept-alive connection then stays with the worker that took it. Clients
that connect at once, as a portal's connection pool or a proxy's does, can land unevenly and
stay so: in the load benchmark (bench/load_bench.py, 20 clients, 2 workers) 13 + 7 and 15 + 5
were common, and the worker with more clients answered each of them about twice as slowly as
the other answered its own, while the other had time to spare.

So each worker publishes how many connections it holds, in a file of its own (8 bytes,
memory-mapped) in a folder that the serve command makes for its workers, and reads the other
workers' files. A worker that holds more than its share (the connections of all live workers
divided among them, rounded up) answers the next request of one of its connections with
``Connection: close``, as HTTP/1.1 ends a connection cleanly, and closes it after the answer:
the client connects again, and the kernel hands the new connection to a worker waiting to
accept, which an idle worker is sooner than a busy one. A connection that comes back to the
same worker is sent away again on its next request, until the spread is even. No request is
refused or cut: each gets its whole answer first.

Each worker makes its file when it starts (``app_from_env`` calls ``join``), so a worker that
has no connection yet counts, with none. The files of workers that have ended (uvicorn
restarts a worker that dies) are removed by the others when they next list the folder, at
most every ``REFRESH`` seconds.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import mmap
import os
import struct
import time
from collections.abc import Mapping
from pathlib import Path

REFRESH = 0.5  # seconds between listings of the other workers' files
# Set by ``plan-archive serve`` for its workers: the folder of their files.
FOLDER_VARIABLE = "PLAN_ARCHIVE_WORKERS_FOLDER"
_COUNT = struct.Struct("<q")


class Peers:
    """This worker's connection count, published, and the other workers' counts, read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pid = os.getpid()
        self._path = folder / str(self.pid)
        descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(descriptor, _COUNT.size)
            self._mine = mmap.mmap(descriptor, _COUNT.size)
        finally:
            os.close(descriptor)
        self._others: dict[int, mmap.mmap] = {}
        self._listed = -math.inf

    def publish(self, count: int) -> None:
        _COUNT.pack_into(self._mine, 0, count)

    def share(self, mine: int) -> int:
        """The most connections one worker should hold: all live workers' together (this
        one's being ``mine``) divided among them, rounded up."""
        if time.monotonic() - self._listed > REFRESH:
            self._list()
        total: int = mine + sum(_COUNT.unpack_from(other)[0] for other in self._others.values())
        return -(-total // (len(self._others) + 1))

    def close(self) -> None:
        for other in self._others.values():
            other.close()
        self._others.clear()
        self._mine.close()
        self._path.unlink(missing_ok=True)

    def _list(self) -> None:
        self._listed = time.monotonic()
        seen: set[int] = set()
        for entry in os.scandir(self.folder):
            if not entry.name.isdigit() or int(entry.name) == self.pid:
                continue
            pid = int(entry.name)
            if not _alive(pid):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                continue
            seen.add(pid)
            if pid not in self._others:
                with contextlib.suppress(OSError, ValueError):  # not yet 8 bytes long
                    self._others[pid] = _map(entry.path)
        for gone in self._others.keys() - seen:
            self._others.pop(gone).close()


def _map(path: str) -> mmap.mmap:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return mmap.mmap(descriptor, _COUNT.size, access=mmap.ACCESS_READ)
    finally:
        os.close(descriptor)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


_PEERS: dict[Path, Peers] = {}


def join(environ: Mapping[str, str]) -> None:
    """Publish this worker's count (none yet) when ``serve`` has set a folder for it."""
    folder = environ.get(FOLDER_VARIABLE)
    if folder:
        peers(Path(folder)).publish(0)


def peers(folder: Path) -> Peers:
    """This process's ``Peers`` in ``folder``, made on first use."""
    found = _PEERS.get(folder)
    if found is None or found.pid != os.getpid():
        found = _PEERS[folder] = Peers(folder)
        atexit.register(found.close)
    return found
