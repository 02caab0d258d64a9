"""The failures the archive and its index expect, each with the stable ``code`` a client sees.

Every expected failure is an ``ArchiveError`` of one of four kinds, and its kind says whose
it is: ``Refused`` input is the user's to mend; a ``StoreProblem``, an ``IndexProblem`` or a
``TimedOut`` is the server's, and passing. Each kind has a code; a class below it may name
its case more closely (``StoreBusy`` is ``STORE_BUSY``). The edges turn the kinds into what
their users see, each in one place: GraphQL in ``schema/errors.py``, HTTP statuses in
``server/over_http.py``, the command line in ``server/failures.py``. Anything else raised is
a bug, which no edge explains to a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class ArchiveError(Exception):
    """An expected failure; ``str(error)`` is one line its reader can act on.

    ``catalog_key`` names the same message in other words (``schema/messages.py`` has its
    Japanese), made with ``params``."""

    code: str  # set by each kind, stable: clients and scripts match on it
    params: Mapping[str, object] = MappingProxyType({})

    @property
    def catalog_key(self) -> str | None:
        return self.code


class Refused(ArchiveError):
    """Input the archive will not take: the user's to mend."""

    code = "BAD_USER_INPUT"


class StoreProblem(ArchiveError):
    """The relational store could not serve: busy, slow, full or unreachable."""

    code = "STORE_UNAVAILABLE"


class IndexProblem(ArchiveError):
    """The search index could not serve: busy, missing, outdated or damaged."""

    code = "INDEX_UNAVAILABLE"


class TimedOut(ArchiveError):
    """The work's time ran out, and it was stopped."""

    code = "TIMEOUT"


KINDS = (Refused, StoreProblem, IndexProblem, TimedOut)


class DocumentRefused(Refused):
    """A file was not stored. ``reason`` is one line a clerk can act on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def first_line(error: BaseException) -> str:
    """An error's first line (a database error's own, without SQLAlchemy's statement)."""
    original = getattr(error, "orig", None) or error
    return str(original).splitlines()[0] if str(original) else type(original).__name__
