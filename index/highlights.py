"""Highlights: fragments of a hit's original text around its matches, as plain text with the
offsets of the matches in it. Each edge marks them its own way: the API as HTML
(``schema/highlights.py``), the command line in bold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from index.analysis import normalize, normalize_text
from index.matching import edge_pattern

FRAGMENT_CONTEXT = 40  # characters of context on each side of a match
# Matches this close share a fragment, up to this extent: a long text dense with matches (a
# document archived without structure) gives fragments, not its whole self as one.
FRAGMENT_SPAN = 2 * FRAGMENT_CONTEXT
MAX_FRAGMENTS = 3


@dataclass(frozen=True)
class Fragment:
    """Plain text ("…" where it was cut, line breaks as spaces) and the ``(start, end)``
    offsets of the matches in it, in order and apart."""

    text: str
    marks: tuple[tuple[int, int], ...]

    def pieces(self) -> Iterator[tuple[str, bool]]:
        """The text in order, each piece with whether it is a match."""
        cursor = 0
        for start, end in self.marks:
            if start > cursor:
                yield self.text[cursor:start], False
            yield self.text[start:end], True
            cursor = end
        if cursor < len(self.text):
            yield self.text[cursor:], False


@dataclass(frozen=True)
class Highlight:
    field: str
    fragments: list[Fragment]


def highlight(fields: dict[str, str], terms: Sequence[str]) -> list[Highlight]:
    """For each field where a term occurs: fragments of the original text around the matches."""
    highlights = []
    for name, original in fields.items():
        spans = _spans(original, terms)
        if spans:
            highlights.append(Highlight(name, _fragments(original, spans)))
    return highlights


def highlight_labels(labels: Iterable[str], printed: Mapping[str, str]) -> list[Highlight]:
    """Highlights of the labels a hit matched (``Hit.labels``): each label as printed, all of
    it a match (a tag or a grade matches as a whole)."""
    return [
        Highlight(name, [Fragment(printed[name], ((0, len(printed[name])),))])
        for name in labels
        if printed.get(name)
    ]


def _spans(original: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    # Most fields of a hit hold none of the terms: find that out on the fast normalisation
    # (the same text, held equal by a property test) before the one that keeps offsets.
    quick = normalize_text(original)
    if not any(term in quick for term in terms):
        return []
    normalized = normalize(original)
    spans = []
    for term in terms:
        pattern = edge_pattern(term) or re.compile(re.escape(term))
        for match in pattern.finditer(normalized.text):
            start = normalized.origin[match.start()]
            end = normalized.origin[match.end() - 1] + 1
            while end < len(original) and _is_mark(original[end]):
                end += 1  # keep ｶﾞ's voicing mark inside the match
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _fragments(original: str, spans: list[tuple[int, int]]) -> list[Fragment]:
    windows: list[list[tuple[int, int]]] = []
    for span in spans:
        if (
            windows
            and span[0] - windows[-1][-1][1] <= 2 * FRAGMENT_CONTEXT
            and span[1] - windows[-1][0][0] <= FRAGMENT_SPAN
        ):
            windows[-1].append(span)
        else:
            windows.append([span])
    fragments = []
    for number, window in enumerate(windows[:MAX_FRAGMENTS]):
        # A fragment's context stops short of the neighbouring fragments' matches, which
        # would show unmarked in it.
        floor = windows[number - 1][-1][1] if number else 0
        ceiling = windows[number + 1][0][0] if number + 1 < len(windows) else len(original)
        start = max(floor, window[0][0] - FRAGMENT_CONTEXT)
        end = min(ceiling, window[-1][1] + FRAGMENT_CONTEXT)
        limit_start, limit_end = max(floor, start - 20), min(ceiling, end + 20)
        while start > limit_start and _latin_pair(original, start - 1):
            start -= 1  # do not cut a Latin word in two (but do cut a very long one)
        while end < limit_end and _latin_pair(original, end - 1):
            end += 1
        before = "…" if start > 0 else ""
        after = "…" if end < len(original) else ""
        text = before + original[start:end].replace("\n", " ") + after
        shift = len(before) - start
        marks = tuple((s + shift, e + shift) for s, e in window)
        fragments.append(Fragment(text, marks))
    return fragments


def _is_mark(char: str) -> bool:
    return unicodedata.combining(char) > 0 or char in "\uff9e\uff9f"


def _latin_pair(text: str, i: int) -> bool:
    return text[i : i + 2].isascii() and text[i : i + 2].isalnum()
