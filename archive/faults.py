"""Fault points: where a test may kill the process to prove that a crash loses nothing.

``point(name)`` does nothing unless the environment variable ``PLAN_ARCHIVE_KILL_AT`` names
that point, in which case the process kills itself with SIGKILL, as ``kill -9`` would. The
points are ``decode`` (the file read, nothing written), ``store-commit`` (the store's
transaction written but not committed), ``stored`` (committed; the index not yet updated),
``index-commit`` (the index's new entries about to be written), ``index-toc`` (the new
segment's files written and synced, its TOC not yet in place) and ``indexed`` (committed;
the store's queue of index tasks not yet cleared). This is the one setting read
outside ``server/settings.py``: it is for tests, not for configuration.
"""

from __future__ import annotations

import os
import signal

POINTS = ("decode", "store-commit", "stored", "index-commit", "index-toc", "indexed")


def point(name: str) -> None:
    if os.environ.get("PLAN_ARCHIVE_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
