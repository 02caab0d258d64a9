"""Global IDs: how the API writes them, and the one strict parser every ID that enters it
goes through.

A global ID is what ``strawberry.relay.to_base64`` makes of a type name and a database id:
standard base64 (with its padding) of ``TypeName:digits``. Only that exact form is an ID.
Strawberry's own ``GlobalID.from_id`` is loose on purpose (it skips characters outside the
alphabet and keeps any text after the colon), so ``Measure: 1``, ``Measure:01``, full-width
digits or a line of junk around the base64 would each name a row by accident, and a long
number would reach the store as an integer it cannot hold. Here the digits are ASCII, with no
sign, space or leading zero, and the number is a database id: from 1 to below 2**62, inside
both stores' BIGINT. So each object has exactly one ID, and anything else names nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import NamedTuple

import strawberry
from strawberry import relay

MAX_DATABASE_ID = 2**62  # exclusive: ids are below it (SQLite and PostgreSQL BIGINT)
_GLOBAL_ID = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,63}):([1-9][0-9]{0,18})")
_NUMBER = re.compile(r"[1-9][0-9]{0,18}")
_LONGEST = 128  # characters of base64: far more than any ID this server makes


class GlobalId(NamedTuple):
    type_name: str
    number: int  # the row's database id


def global_id(type_name: str, number: int) -> strawberry.ID:
    """The global ID of the row ``number`` of ``type_name``, as a ``relay.Node``'s ``id``."""
    return strawberry.ID(relay.to_base64(type_name, number))


def parse_number(node_id: str) -> int | None:
    """The database id that ``node_id`` (the part after the colon) spells, or None."""
    if not _NUMBER.fullmatch(node_id):
        return None
    number = int(node_id)
    return number if number < MAX_DATABASE_ID else None


def parse_global_id(value: str) -> GlobalId | None:
    """The type name and database id in ``value``, or None when it is not exactly a global
    ID as this server writes them."""
    if len(value) > _LONGEST or not value.isascii():
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    found = _GLOBAL_ID.fullmatch(decoded)
    if found is None:
        return None
    number = parse_number(found[2])
    if number is None or global_id(found[1], number) != value:
        return None  # the right text in a base64 of another shape (padding, trailing bits)
    return GlobalId(found[1], number)


def number_of(value: str, type_name: str) -> int | None:
    """The database id in ``value`` when it is exactly a global ID of ``type_name``, or None."""
    found = parse_global_id(value)
    return found.number if found is not None and found.type_name == type_name else None


def database_ids(node_ids: Iterable[str]) -> list[int]:
    """Database ids from the node ids of ``resolve_nodes``; anything that cannot be one
    (², 01, 10**30) becomes -1, which no row has."""
    return [-1 if (number := parse_number(str(i))) is None else number for i in node_ids]
