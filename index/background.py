"""Index updates in the background: a server's writes never wait for the index on the
request path.

A mutation stores its change and the index log's entry in one store transaction (the
outbox, see ``index/writing.py``); bringing the index up to date is then ``follow``, which
may wait for the index's write lock (another process applying, a reindex) for up to its
timeout. ``BackgroundUpdates`` runs that in one thread per server process: a request asks
for an update and may wait a little for it (so that an integrator who ingests and then
searches finds the new report), but it never waits for the lock, and the answer does not
depend on the index: the change is stored either way, and an update that could not be
made now is retried until the index is in step.

With ``poll`` (``plan-archive serve``), the thread also looks at the store's log every
``poll`` seconds, so changes written elsewhere (the CLI, another node's server) reach this
node's index within about that long (#19 point 2); a node whose index is new or too far
behind rebuilds it from the store there, off the request path.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from index.writing import LOG_RETENTION, IndexBusy, IndexDamaged, IndexOutdated, follow

logger = logging.getLogger("plan_archive.index")

RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # between attempts while another writer holds it


class BackgroundUpdates:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        root: Path,
        poll: float | None = None,
        retention: float | None = LOG_RETENTION,
    ) -> None:
        self._sessions = sessions
        self._root = root
        self._poll = poll
        self._retention = retention
        self._changed = threading.Condition()
        self._asked = 0  # requests made
        self._done = 0  # requests whose changes are in the index
        self._closed = False
        self._thread: threading.Thread | None = None
        self._failing = False  # the last attempt failed unexpectedly (logged once)

    def start(self) -> None:
        """Start following the store's log now (with ``poll``), not at the first request."""
        with self._changed:
            if not self._closed and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="plan-archive-index", daemon=True
                )
                self._thread.start()

    def request(self, wait: float = 0.0) -> bool:
        """Ask for the index to take every change stored so far, and wait up to ``wait``
        seconds for it; whether the attempt is over (the index took the changes, or needs a
        rebuild first and keeps them queued for it)."""
        with self._changed:
            if self._closed:
                return False
            self._asked += 1
            ticket = self._asked
        self.start()
        with self._changed:
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._done >= ticket, timeout=max(wait, 0))

    def close(self, wait: float = 5.0) -> None:
        """Stop the thread after the update it is making, if any."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(wait)

    def _run(self) -> None:
        attempt = 0
        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda: self._closed or self._asked > self._done, timeout=self._poll
                )
                if self._closed:
                    return
                target = self._asked
            if self._apply():
                attempt = 0
                with self._changed:
                    self._done = max(self._done, target)
                    self._changed.notify_all()
                continue
            with self._changed:  # busy: try again a little later, unless closing
                self._changed.wait_for(lambda: self._closed, timeout=RETRY_SECONDS[min(attempt, 4)])
            attempt += 1

    def _apply(self) -> bool:
        """One attempt; False when it should be retried."""
        try:
            follow(self._sessions, self._root, retention=self._retention)
        except IndexBusy:
            return False
        except (IndexDamaged, IndexOutdated) as error:
            # Only a rebuild helps (plan-archive check --repair, reindex): the work stays
            # queued in the store for it, and requests do not wait for it.
            logger.warning("the index was not updated: %s", error)
        except Exception:
            if not self._failing:  # once per run of failures, not every few seconds
                logger.exception("updating the index failed; the work stays queued")
            self._failing = True
            return False
        self._failing = False
        return True
