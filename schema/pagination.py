"""Opaque, stable cursors and page-size checks for connections.

A cursor encodes the sort key of the row it points at (not an offset), so a page stays
correct when rows are added before it. Clients must treat cursors as opaque strings.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import strawberry

from archive.decode import storable
from schema.errors import BAD_USER_INPUT, PublicError

DEFAULT_PAGE_SIZE = 20


@strawberry.type(description="Relay's page information for a forward page (first/after).")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False,
        description="Whether items precede this page: true for a page asked after a cursor.",
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="The first edge's cursor; null for an empty page."
    )


def page_size(first: int | None, largest: int) -> int:
    if first is None:
        return min(DEFAULT_PAGE_SIZE, largest)
    if not 1 <= first <= largest:
        raise PublicError(f"first must be between 1 and {largest}", BAD_USER_INPUT)
    return first


def encode_cursor(kind: str, key: tuple[Any, ...]) -> str:
    payload = json.dumps([kind, *key], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, shape: tuple[type, ...]) -> tuple[Any, ...]:
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
        raise PublicError("after is not a valid cursor for this list", BAD_USER_INPUT)
    return tuple(value[1:])
