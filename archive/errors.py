"""The one error the archive raises for input it will not take."""

from __future__ import annotations


class DocumentRefused(Exception):
    """A file was not stored. ``reason`` is one line a clerk can act on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
