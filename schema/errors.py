"""Errors a client may see, each with a stable ``extensions.code``; everything else is masked.

This is where GraphQL shows an expected failure (``archive/errors.py``): an ``ArchiveError``
raised by a resolver, or a store that was busy, slow or full, keeps its message and gets its
``code``. A ``PublicError`` is such a failure written by the schema itself. Any other
exception becomes ``INTERNAL`` with a generic message, so no stack trace, SQL, path or secret
reaches a client; the server log keeps the details.

A refusal a user can meet from the page also has a ``reason`` (``extensions.reason``), a
stable key of ``schema/messages.py``; for a request whose ``Accept-Language`` prefers
Japanese (``Context.japanese``) its message is the catalog's Japanese text. The code, the
reason and the English of a request without it stay as they were.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from archive.db import store_problem
from archive.errors import ArchiveError, Refused, TimedOut
from schema import messages

logger = logging.getLogger("plan_archive.graphql")

BAD_USER_INPUT = Refused.code
NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
INTERNAL = "INTERNAL"
TIMEOUT = TimedOut.code  # the request's time ran out; its work was stopped
CURSOR_EXPIRED = "CURSOR_EXPIRED"  # a search cursor whose results changed under it
INTERNAL_MESSAGE = "Internal server error."


class PublicError(ArchiveError):
    """A failure the schema itself explains to the client, with the code it chooses
    (``NOT_FOUND``, ``UNAUTHENTICATED``, ``BAD_CURSOR``…); ``reason`` names its Japanese text
    in ``schema/messages.py``, made with ``params``."""

    def __init__(
        self,
        message: str,
        code: str = BAD_USER_INPUT,
        *,
        reason: str | None = None,
        **params: object,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.params = params

    @property
    def catalog_key(self) -> str | None:
        return self.reason


def _show(error: GraphQLError, shown: ArchiveError) -> None:
    """Give ``error`` the code of ``shown`` and the key of its message."""
    error.extensions = {**(error.extensions or {}), "code": shown.code}
    if shown.catalog_key is not None:
        error.extensions["reason"] = shown.catalog_key


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None:
        return False  # a parse or validation error: its message is about the query itself
    problem = store_problem(original)
    if problem is not None:  # the store was busy or slow: say so, without its SQL
        logger.warning("store problem in %s: %s", error.path, original)
        error.message = str(problem)
        _show(error, problem)
        error.original_error = None
        return False
    if isinstance(original, ArchiveError):
        _show(error, original)
        return False
    if error.path is None and (
        isinstance(original, GraphQLError) or error.message.startswith('Variable "$')
    ):
        # Raised before any resolver ran: the variables did not fit their types. Anything
        # else raised there (a limit's own code failing) is a server problem, masked.
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        return False
    logger.error("unexpected error in %s", error.path, exc_info=original)
    return True


def _process(error: GraphQLError) -> None:
    if error.original_error is None and not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}


class PublicErrors(MaskErrors):
    """MaskErrors that keeps public and validation errors and codes every error."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=_should_mask,
            error_message=INTERNAL_MESSAGE,
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": INTERNAL, "reason": INTERNAL},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        for error in errors:
            _process(error)
        processed = super()._process_errors(errors)
        if getattr(self.execution_context.context, "japanese", False):
            for error in processed:
                in_japanese(error)
        return processed


def in_japanese(error: GraphQLError) -> None:
    """The error's message in Japanese, when its reason has a text in the catalog. Errors of
    an operation that ran are put in Japanese by ``PublicErrors``; those found before it ran
    (the limits of ``schema/limiter.py``) by the schema's ``process_errors``."""
    original = error.original_error
    params = original.params if isinstance(original, ArchiveError) else {}
    reason = (error.extensions or {}).get("reason")
    found = messages.japanese(reason, params) if isinstance(reason, str) else None
    if found is not None:
        error.message = found
