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
has no connection yet counts, with none. A worker holds a lock on its file while it lives, so
the file of one that has ended (uvicorn restarts a worker that dies, however it died) is
known as such, and removed, by the others when they next list the folder, at most every
``REFRESH`` seconds. When the folder cannot be read or written, connections are not spread
(one warning), and nothing else changes.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import math
import mmap
import os
import struct
import time
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger("plan_archive.server")

REFRESH = 0.5  # seconds between listings of the other workers' files
# Set by ``plan-archive serve`` for its workers: the folder of their files.
FOLDER_VARIABLE = "PLAN_ARCHIVE_WORKERS_FOLDER"
_COUNT = struct.Struct("<q")


class Peers:
    """This worker's connection count, published, and the other workers' counts, read.

    A worker holds an exclusive ``flock`` on its file for as long as it lives (the kernel lets
    go however it ends), so a file nobody holds is a worker that has ended, whatever became
    of its pid. A file appears whole and locked: it is made under another name, then renamed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pid = os.getpid()
        self._path = folder / str(self.pid)
        making = folder / f".{self.pid}.new"
        descriptor = os.open(making, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(descriptor, 0, _COUNT.size)  # a full disk fails here, not later
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._mine = mmap.mmap(descriptor, _COUNT.size)
            os.rename(making, self._path)
        except BaseException:
            os.close(descriptor)
            making.unlink(missing_ok=True)
            raise
        self._descriptor = descriptor  # open, and so locked, until close()
        self._others: dict[int, mmap.mmap] = {}
        self._listed = -math.inf

    def publish(self, count: int) -> None:
        _COUNT.pack_into(self._mine, 0, count)

    def share(self, mine: int) -> int:
        """The most connections one worker should hold: all live workers' together (this
        one's being ``mine``) divided among them, rounded up; ``mine`` when the others
        cannot be read (the folder is gone): no worker sends connections away then."""
        if time.monotonic() - self._listed > REFRESH:
            try:
                self._list()
            except OSError as error:
                if self._others or self._listed == -math.inf:
                    logger.warning("cannot read the other workers' connections: %s", error)
                self._forget()
                return mine
        total: int = mine + sum(_COUNT.unpack_from(other)[0] for other in self._others.values())
        return -(-total // (len(self._others) + 1))

    def close(self) -> None:
        self._forget()
        self._path.unlink(missing_ok=True)
        self._mine.close()
        os.close(self._descriptor)

    def _forget(self) -> None:
        for other in self._others.values():
            other.close()
        self._others.clear()

    def _list(self) -> None:
        self._listed = time.monotonic()
        self._forget()
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if not entry.name.isdigit() or int(entry.name) == self.pid:
                    continue
                with contextlib.suppress(OSError, ValueError):
                    found = _map_if_held(entry.path)
                    if found is None:  # its worker has ended
                        os.unlink(entry.path)
                    else:
                        self._others[int(entry.name)] = found


def _map_if_held(path: str) -> mmap.mmap | None:
    """The count at ``path`` mapped for reading, or None when no live worker holds it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # its worker's exclusive lock: alive
            return mmap.mmap(descriptor, _COUNT.size, access=mmap.ACCESS_READ)
        return None
    finally:
        os.close(descriptor)  # and the shared lock with it, when it got one


_JOINED: list[Peers] = []  # this process's, once it has joined


def join(environ: Mapping[str, str]) -> None:
    """Make and publish this worker's count (none yet) when ``serve`` has set a folder for
    its workers; connections are spread from then on (``joined``)."""
    folder = environ.get(FOLDER_VARIABLE)
    if not folder:
        return
    try:
        found = Peers(Path(folder))
    except OSError as error:
        logger.warning("connections are not spread over the workers: %s", error)
        return
    found.publish(0)
    _JOINED[:] = [found]
    atexit.register(found.close)


def joined() -> Peers | None:
    """This process's ``Peers``, when it has joined the other workers."""
    return _JOINED[0] if _JOINED and _JOINED[0].pid == os.getpid() else None
