"""Opaque, stable cursors, page-size checks and page information for connections.

A cursor encodes the sort key of the row it points at (not an offset), so a page stays
correct when rows are added before it. Clients must treat cursors as opaque strings.

Connections follow the Relay Cursor Connections spec: ``after`` and ``before`` bound the
list (both may be given), then ``first`` takes the first items of what is left or ``last``
the last ones; edges are always in the list's order. Giving ``first`` and ``last`` together
is refused (BAD_USER_INPUT): the spec allows it but "strongly discourages" it, and its
meaning (the last of the first) is what no client means. ``hasNextPage`` says whether
more follow when paging forward (``first``), ``hasPreviousPage`` whether more precede when
paging backward (``last``); the other flag says whether the page was asked from a cursor on
that side (``after``, ``before``): the cursor's own item lies there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from archive.decode import storable
from schema.errors import BAD_USER_INPUT, PublicError

DEFAULT_PAGE_SIZE = 20


@strawberry.type(
    description="Relay's page information, for a page asked forward (first/after) or "
    "backward (last/before)."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page: with `first`, whether the list holds "
        "more after it; with `last`, whether it was asked before a cursor."
    )
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor; null for an empty page."
    )
    has_previous_page: bool = strawberry.field(
        default=False,
        description="Whether items precede this page: with `last`, whether the list holds "
        "more before it; with `first`, whether it was asked after a cursor.",
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="The first edge's cursor; null for an empty page."
    )


def page_size(first: int | None, largest: int, argument: str = "first") -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, largest)
    if not 1 <= first <= largest:
        raise PublicError(
            f"{argument} must be between 1 and {largest}",
            BAD_USER_INPUT,
            reason="PAGE_SIZE",
            argument=argument,
            largest=largest,
        )
    return first


@dataclass(frozen=True)
class PageRequest:
    """How many items a page holds, and whether they are the last of their range (``last``)
    rather than the first (``first``, or neither: the default page size)."""

    limit: int
    backward: bool


def page_request(first: int | None, last: int | None, largest: int) -> PageRequest:
    """The page ``first`` or ``last`` asks for, each bounded by ``largest``; both given is
    BAD_USER_INPUT (see the module's docstring)."""
    if first is not None and last is not None:
        raise PublicError("give first or last, not both", BAD_USER_INPUT)
    if last is not None:
        return PageRequest(page_size(last, largest, "last"), backward=True)
    return PageRequest(page_size(first, largest), backward=False)


Row = TypeVar("Row")


def window(rows: Sequence[Row], request: PageRequest) -> tuple[list[Row], bool]:
    """The page in ``rows`` (read with one row more than the page's limit, in list order)
    and whether the range held more than the page: the extra row is past the page's end
    forward, before its start backward."""
    more = len(rows) > request.limit
    if request.backward:
        return list(rows[len(rows) - request.limit :] if more else rows), more
    return list(rows[: request.limit]), more


def page_info(
    cursors: Sequence[str], request: PageRequest, *, more: bool, after: bool, before: bool
) -> PageInfo:
    """The PageInfo of a page whose edges have ``cursors``, by the Relay spec: ``more`` is
    whether the range held more than the page (the flag on the side it was read from);
    ``after``/``before`` whether it was asked from such a cursor (the flag on the other)."""
    return PageInfo(
        has_next_page=before if request.backward else more,
        end_cursor=cursors[-1] if cursors else None,
        has_previous_page=more if request.backward else after,
        start_cursor=cursors[0] if cursors else None,
    )


def encode_cursor(kind: str, key: tuple[Any, ...]) -> str:
    payload = json.dumps([kind, *key], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(
    kind: str, cursor: str, shape: tuple[type, ...], argument: str = "after"
) -> tuple[Any, ...]:
    """The sort key in ``cursor``; a cursor of another list or a garbled one is BAD_USER_INPUT."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or value[0] != kind
        or not all(type(v) is t for v, t in zip(value[1:], shape, strict=True))
        or any(type(v) is int and not -(2**62) < v < 2**62 for v in value[1:])
        # JSON escapes can hide text no store can hold (a NUL, a lone surrogate).
        or any(type(v) is str and not storable(v) for v in value[1:])
    ):
        raise PublicError(
            f"{argument} is not a valid cursor for this list",
            BAD_USER_INPUT,
            reason="BAD_CURSOR",
            argument=argument,
        )
    return tuple(value[1:])


Key = tuple[Any, ...]


def keyset_page(
    kind: str,
    shape: tuple[type, ...],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    largest: int,
    fetch: Callable[[Key | None, Key | None, int, bool], Sequence[Row]],
    key: Callable[[Row], Key],
) -> tuple[list[tuple[str, Row]], PageInfo]:
    """One page of a keyset-paged list, the dance every such connection does: the cursors
    decoded (of ``kind``, holding a key of ``shape``), ``fetch(after, before, limit,
    backward)`` asked for one row more than the page, the page cut out, each row's cursor
    made from ``key(row)``, and the PageInfo."""
    request = page_request(first, last, largest)
    after_key = decode_cursor(kind, after, shape) if after else None
    before_key = decode_cursor(kind, before, shape, "before") if before else None
    rows = fetch(after_key, before_key, request.limit + 1, request.backward)
    page, more = window(rows, request)
    cursors = [encode_cursor(kind, key(row)) for row in page]
    info = page_info(
        cursors, request, more=more, after=after_key is not None, before=before_key is not None
    )
    return list(zip(cursors, page, strict=True)), info
