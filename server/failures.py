"""How the command line reports a failure it expected: one line on stderr, ``error: …``, and
exit status 2; no traceback.

Every ``ArchiveError`` a command lets through ends so (``Commands``), whatever its kind: the
line is its message, written for the person at the terminal. A command says more only where
it knows more (the file a curation line came from).
"""

from __future__ import annotations

from typing import Any, NoReturn

import click

from archive.errors import ArchiveError

EXIT_STATUS = 2


def fail(message: str) -> NoReturn:
    """End the command with ``message`` on one line of stderr."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_STATUS)


class Commands(click.Group):
    """A command group whose commands end on an ``ArchiveError`` as ``fail`` does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiveError as error:
            fail(str(error))
