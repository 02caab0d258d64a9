"""Slow and idle clients: how ``plan-archive serve`` cuts them, as uvicorn options.

Two things keep a few thousand connections that never finish a request (slowloris) from
taking the server:

- **A head deadline.** A connection has ``header_timeout`` seconds to send a whole request
  head (request line and headers), counted from when it is opened and again from the end of
  each answer on a kept-alive connection. Past it the connection is closed, with a 408 when
  part of a head had come. uvicorn has no such timer: its keep-alive timer starts only after
  an answer and stops at the first byte that follows, so a connection that sends nothing, or
  one byte a second, is held for ever. ``HeadDeadlineProtocol`` adds it to uvicorn's own
  httptools protocol (the one ``uvicorn[standard]`` runs), wrapping only what every uvicorn
  HTTP protocol has (``connection_made``, ``data_received``, ``on_response_complete``,
  ``connection_lost``, the current ``cycle``), not the parser. The body is not covered here:
  it is read by the app, within the request timeout (server/limits.py).
- **A cap on connections.** A server process holds at most ``max_connections``. A
  connection that would be one more closes the one that has waited longest for a head (an
  idle kept-alive connection, or a slow client), so a flood of slow clients only pushes out
  its own connections and a client that sends its request at once is served. When every
  held connection is a request under way, a new request is answered 503 at once, without
  reaching the app (uvicorn's ``limit_concurrency``), rather than queued. The cap is kept
  within the process's open files (``room_for``).

Both are per server process: with ``--workers N`` each worker has its own timers, its own
cap and its own list of connections awaiting a head.

Why not another server: hypercorn's ``read_timeout`` restarts on every read, so a client
sending a byte a second never meets it; granian has a header timeout but is a server of its
own (its workers, logging and process model), a larger change than one protocol class.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from server import balance
from server.settings import Settings

logger = logging.getLogger("plan_archive.server")

_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 26\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request head not received\n"
)

# This process's connections awaiting a request head, the longest waiting first (a dict keeps
# its insertion order). uvicorn runs one server in each process, so one list serves.
_AWAITING_HEAD: dict[HeadDeadlineProtocol, None] = {}
# This process's connections told to close after their current answer (server/balance.py).
_LEAVING: set[HeadDeadlineProtocol] = set()


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection that has not sent a whole request
    head within ``header_timeout`` seconds of being opened or of its last answer, and the
    one that has waited longest for a head when a new connection would pass the cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        # The other worker processes of the server, when it has more than one.
        self.peers = balance.joined()
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_begun = False  # a byte of the awaited head has come

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        self._publish()
        # limit_concurrency is max_connections + 1 (uvicorn_options): this one is too many.
        if self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency:
            longest = next(iter(_AWAITING_HEAD))
            if longest is not self:
                longest._give_up()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        if self._head_deadline is None:
            return  # a request is under way: its body and the app are the request timeout's
        # A new cycle is a whole head (its request now runs); a WebSocket upgrade hands the
        # connection to another protocol; a 400 has closed it.
        if (
            self.cycle is not before
            or self.transport.get_protocol() is not self
            or self.transport.is_closing()
        ):
            self._stop_waiting()
            if self.cycle is not before:
                self._balance()
        else:
            self._head_begun = True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Wait for the next head unless the connection is closing or a pipelined request,
        # already whole, is the current cycle now.
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        _LEAVING.discard(self)
        super().connection_lost(exc)
        self._publish()

    def _publish(self) -> None:
        if self.peers is not None:
            self.peers.publish(len(self.connections))

    def _balance(self) -> None:
        """Answer this request with ``Connection: close`` when this process holds more
        than its share of the server's connections, not counting those already leaving
        (server/balance.py)."""
        if self.peers is None or not self.cycle.keep_alive or self in _LEAVING:
            return
        held = len(self.connections)
        if held - len(_LEAVING) > self.peers.share(held):
            self.cycle.keep_alive = False
            _LEAVING.add(self)

    def _await_head(self) -> None:
        self._stop_waiting()
        self._head_begun = False
        self._head_deadline = self.loop.call_later(self.header_timeout, self._give_up)
        _AWAITING_HEAD[self] = None

    def _stop_waiting(self) -> None:
        _AWAITING_HEAD.pop(self, None)
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _give_up(self) -> None:
        """Close this connection, still without a whole head: its time is up, or its place
        is needed."""
        self._stop_waiting()
        if not self.transport.is_closing():
            logger.debug("closed a connection that had not sent a whole request head")
            if self._head_begun:  # a slow client, not an idle one: say why
                self.transport.write(_TOO_SLOW)
            self.transport.close()
        # Its place is free now (closing already, it was leaving), though connection_lost
        # comes only on a later turn of the loop: a head that has come meanwhile (the
        # newcomer's) must not count it.
        self.connections.discard(self)
        _LEAVING.discard(self)
        self._publish()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options of ``uvicorn.run`` that cut slow and idle clients, with room made for
    ``max_connections`` (``room_for``)."""
    # uvicorn pickles its config for each worker process (spawn): a partial of a module-level
    # class travels, and uvicorn calls it as it would the class itself.
    protocol = functools.partial(HeadDeadlineProtocol, header_timeout=settings.header_timeout)
    return {
        "http": cast("type[asyncio.Protocol]", protocol),
        # uvicorn answers 503 once it holds limit_concurrency connections, the new one
        # included: one more than the cap lets the cap be served.
        "limit_concurrency": room_for(settings.max_connections) + 1,
    }


OTHER_FILES = 100  # what a server process opens besides connections: store, index, logs, pipes


def room_for(connections: int) -> int:
    """The connections a server process can hold, at most ``connections``: each is an open
    file, and a process out of files resets every new connection at once (uvloop), the
    slowloris's goal. So the soft limit of open files is raised to the hard one, as Go's
    runtime does (the workers inherit it), and a cap that still does not fit is lowered to
    what does, with a warning."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + OTHER_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):  # a platform that will not
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return connections
    fits = max(1, soft - OTHER_FILES)
    logger.warning(
        "PLAN_ARCHIVE_MAX_CONNECTIONS=%d does not fit in %d open files per process "
        "(ulimit -n); holding %d connections instead",
        connections,
        soft,
        fits,
    )
    return fits
