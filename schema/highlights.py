"""Highlights as the API gives them: HTML-escaped text, each match in ``<mark>…</mark>``."""

from __future__ import annotations

from html import escape

from index.highlights import Highlight


def html_fragments(found: Highlight) -> list[str]:
    """The highlight's fragments, escaped, their matches marked: the one markup a client
    may render."""
    return [
        "".join(
            f"<mark>{escape(piece)}</mark>" if matched else escape(piece)
            for piece, matched in fragment.pieces()
        )
        for fragment in found.fragments
    ]
