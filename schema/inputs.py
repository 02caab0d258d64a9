"""Text arguments, checked where they enter: no NUL (U+0000), no lone surrogate.

Neither is text a store can hold (``archive.decode.storable``): PostgreSQL refuses a NUL in
a parameter, so the store failed and the client got INTERNAL (while SQLite took it), and a
lone surrogate has no UTF-8 form for either store. Both are a client's mistake, refused with
BAD_USER_INPUT before anything runs, on either store, however they came:

- in a variable's JSON value (``"\\u0000"``), or a GET request's ``variables``;
- in a string literal of the document, as a GraphQL escape (``"\\u0000"``) or raw (a GET
  query string may hold a raw NUL): ``TextArguments`` checks both before execution;
- a lone surrogate written in the document is a syntax error to the GraphQL parser, which
  ``lone_surrogate_at`` recognises so that it gets this code too; one in the request body's
  JSON is refused before GraphQL, by ``server.app``.

Cursors carry text inside their base64, so ``schema.pagination`` checks what they decode to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import BREAK, DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from archive.decode import storable
from schema.errors import BAD_USER_INPUT

TEXT_REFUSED = "text arguments must not contain NUL (U+0000) or lone surrogates"

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
# Where the parser stopped at a lone surrogate in a string: raw, or as an escape (\ud800 or
# \u{D800}; the parser joins a high and a low escape that follow each other into one pair).
_SURROGATE = re.compile(
    r"[\ud800-\udfff]|\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|\{0*[dD][89a-fA-F][0-9a-fA-F]{2}\})"
)


# No list argument needs more values than this (a filter of every fiscal year, department or
# municipality there is has a few hundred); a longer one would cost seconds of coercion
# before any resolver could refuse it (120,000 integers took 2 s).
MAX_LIST_VALUES = 1000


def oversized_list(value: object) -> bool:
    """Whether ``value`` holds, however deep, a list of more than MAX_LIST_VALUES values."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            if len(item) > MAX_LIST_VALUES:
                return True
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return False


def unstorable(value: object) -> bool:
    """Whether ``value`` (a variable's decoded JSON) holds a string no store can hold, in a
    list or an object (keys included) however deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class _Literals(Visitor):
    """Finds the first string literal that no store can hold."""

    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> object:
        if storable(node.value):
            return None
        self.found = node
        return BREAK


def unstorable_literal(document: DocumentNode) -> StringValueNode | None:
    """The first string literal of ``document`` that holds a NUL or a lone surrogate."""
    literals = _Literals()
    visit(document, literals)
    return literals.found


def lone_surrogate_at(error: GraphQLError) -> bool:
    """Whether a syntax error is the parser refusing a lone surrogate in a string."""
    positions = list(error.positions or ())
    if error.source is None or not positions:
        return False
    return _SURROGATE.match(error.source.body, positions[0]) is not None


class TextArguments(SchemaExtension):
    """Refuses, before it runs, an operation given text no store can hold, or a variable
    list longer than any argument needs (lists written in the document are bounded by the
    token limit)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        for name, value in (context.variables or {}).items():
            if oversized_list(value):
                where = f"${name}: " if _NAME.fullmatch(name) else ""
                raise GraphQLError(
                    f"{where}a list may hold at most {MAX_LIST_VALUES} values",
                    extensions={"code": BAD_USER_INPUT},
                )
            if unstorable(value):
                where = f"${name}: " if _NAME.fullmatch(name) else ""
                # Raised before execution, so it is the operation's only error as is.
                raise GraphQLError(where + TEXT_REFUSED, extensions={"code": BAD_USER_INPUT})
        if context.graphql_document is not None:
            literal = unstorable_literal(context.graphql_document)
            if literal is not None:
                raise GraphQLError(
                    TEXT_REFUSED, nodes=[literal], extensions={"code": BAD_USER_INPUT}
                )
        yield
