"""Paging a search: cursors, the window of hits a page shows, and its page information,
shared by every search connection (``search`` over measures, ``searchDocuments``).

A search's hits have no stable sort key (a score moves when the archive grows), so a search
cursor names a position with a digest of the hits up to it (``index.search.chain_keys``):
it holds in a later state of the index as long as those hits are the same, so an ingest
elsewhere does not void it, and it is refused with ``CURSOR_EXPIRED`` when they changed. A
cursor belongs to one list: its kind holds a digest of the list's name, query, filter and
order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry

from index.search import Hit, Results, chain_keys
from schema.errors import BAD_USER_INPUT, CURSOR_EXPIRED, PublicError
from schema.pagination import PageInfo, decode_cursor, encode_cursor, page_request


def search_cursor_kind(list_name: str, query: str, where: Any, order: str) -> str:
    """The kind of the cursors of one search list: ``list_name`` ("search" for measures,
    which its cursors have always been), the query, the filter (a Strawberry input or None)
    and the order."""
    fields = strawberry.asdict(where) if where is not None else None
    digest = hashlib.sha256(
        json.dumps([query, fields, order], ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()[:16]
    return f"{list_name}-{digest}"


@dataclass(frozen=True)
class SearchWindow:
    """The hits a search page shows: ``limit`` from ``offset``, within the range from
    ``start`` (after ``after``'s hit) to ``stop`` (``before``'s hit, excluded; None: the
    end); ``backward`` for a page of the range's last hits (``last``)."""

    offset: int
    limit: int
    backward: bool
    start: int
    stop: int | None

    def has_next_page(self, total: int) -> bool:
        if self.backward:  # before's own hit follows (the spec's "may", known exactly here)
            return self.stop is not None and self.stop < total
        end = total if self.stop is None else min(self.stop, total)
        return self.offset + self.limit < end

    def has_previous_page(self) -> bool:
        return self.offset > self.start if self.backward else self.offset > 0


def search_window(
    first: int | None, last: int | None, start: int, stop: int | None, largest: int
) -> SearchWindow:
    """The page of a search that ``first``/``last`` ask for between the offsets ``start``
    and ``stop`` (from ``after`` and ``before``), by the Relay spec as the other connections
    (``schema/pagination.py``): ``first`` and ``last`` together are refused. ``last``
    without ``before`` comes with ``stop`` set to the hits' total (``search_page``)."""
    request = page_request(first, last, largest)
    if request.backward:
        assert stop is not None, "last without before is given the hits' total as stop"
        offset = max(start, stop - request.limit)
        return SearchWindow(offset, max(0, stop - offset), True, start, stop)
    limit = request.limit if stop is None else max(0, min(request.limit, stop - start))
    return SearchWindow(start, limit, False, start, stop)


def _search_cursor(kind: str, cursor: str, name: str) -> tuple[int, str]:
    """The position a search cursor names and the digest of the hits up to it."""
    position, digest = decode_cursor(kind, cursor, (int, str), name)
    if position < 0:
        raise PublicError(
            f"{name} is not a valid cursor for this list",
            BAD_USER_INPUT,
            reason="BAD_CURSOR",
            argument=name,
        )
    return int(position), str(digest)


@dataclass(frozen=True)
class SearchPage:
    """One page asked of a search list: where it lies (``window``) and what its cursors
    promised (``expected``: position -> the digest of the hits up to it)."""

    kind: str
    window: SearchWindow
    expected: dict[int, str]

    @property
    def offset(self) -> int:
        return self.window.offset

    @property
    def limit(self) -> int:
        return self.window.limit

    @property
    def digests_at(self) -> tuple[int, ...]:
        """The positions the search must give digests for (``SearchOptions.digests_at``):
        the cursors' own, to check them, and the one before the page, to chain its cursors
        from."""
        offset = self.window.offset
        return tuple(sorted({*self.expected, *([offset - 1] if offset else [])}))

    def check(self, results: Results) -> None:
        """Refuse with CURSOR_EXPIRED a cursor whose hits up to it changed since it was made."""
        if any(results.digests.get(at) != digest for at, digest in self.expected.items()):
            raise PublicError(
                "the results up to this cursor changed since it was made (a report was "
                "replaced or deleted); run the search again",
                CURSOR_EXPIRED,
                reason=CURSOR_EXPIRED,
            )

    def hits(self, results: Results) -> list[tuple[Hit, str]]:
        """Each hit of the page with its cursor (a hit gone from the store since the index
        was read keeps its place in the chain, so the cursors after it hold)."""
        found = []
        digest = results.digests.get(self.window.offset - 1, "")
        for position, hit in enumerate(results.hits):
            digest = chain_keys(digest, (hit.key,))
            found.append((hit, encode_cursor(self.kind, (self.window.offset + position, digest))))
        return found

    def page_info(self, total: int, cursors: Sequence[str]) -> PageInfo:
        """The PageInfo of the page whose edges have ``cursors``, of a list of ``total`` hits."""
        return PageInfo(
            has_next_page=self.window.has_next_page(total),
            end_cursor=cursors[-1] if cursors else None,
            has_previous_page=self.window.has_previous_page(),
            start_cursor=cursors[0] if cursors else None,
        )


def search_page(
    kind: str,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    largest: int,
    count: Callable[[], int],
) -> SearchPage:
    """The page ``first``/``after``/``last``/``before`` ask of the search list ``kind``
    (``search_cursor_kind``); a cursor of another list, or garbled, is BAD_USER_INPUT.
    ``count()`` gives the list's length, asked only for ``last`` without ``before``: the
    last hits, where Relay's and Apollo's backward paging starts."""
    expected: dict[int, str] = {}
    start, stop = 0, None
    if after is not None:
        position, expected[position] = _search_cursor(kind, after, "after")
        start = position + 1
    if before is not None:
        stop, expected[stop] = _search_cursor(kind, before, "before")
    elif last is not None:
        stop = count()
    return SearchPage(kind, search_window(first, last, start, stop, largest), expected)
