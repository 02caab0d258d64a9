"""GraphQL over HTTP (the GraphQL Foundation's specification): which media type an answer
takes, and what status it carries.

A client says in ``Accept`` which it understands. ``application/graphql-response+json``
(what Apollo Client, graphql-http and other current clients ask for first) gives a request
error its own status: 400 when the document cannot be parsed or validated, its variables do
not fit, or no operation can be chosen, and the answer then has no ``data`` entry; a
response with ``data`` is 200, errors in fields or not. ``application/json`` (the legacy
type, and what a client gets without ``Accept`` or with ``*/*``) answers every GraphQL
request that ran with 200, as clients written for it expect. Refusals before GraphQL runs
(a body that is not JSON, a method other than GET and POST, a body too large, time out)
keep their 4xx/5xx status in either type, and every error answer is a GraphQL-shaped JSON
body: ``{"errors": [{"message", "extensions": {"code"}}]}``.

An ``Accept`` that names neither type (nor a wildcard) gets ``application/json``, as the
specification allows, rather than 406: a client that cannot read JSON cannot read a 406's
explanation either.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from cachetools import LRUCache
from starlette.responses import Response

from archive.db import StoreBusy, StoreFull, StoreTimeout
from archive.errors import IndexProblem, StoreProblem, TimedOut
from index.search import SearchTimeout
from schema import messages
from schema.errors import INTERNAL

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ALLOWED_METHODS = "GET, POST"


def answer_type(accept: str | None) -> str:
    """The media type of the answer for an ``Accept`` header: the one of the two the client
    prefers by q-value (``application/graphql-response+json`` on a tie; a wildcard counts
    for ``application/json``), else ``application/json``."""
    offered = {GRAPHQL_RESPONSE: -1.0, JSON: -1.0}
    for kind, q in messages.weighted(accept):
        if q <= 0:
            continue
        if kind == GRAPHQL_RESPONSE:
            offered[GRAPHQL_RESPONSE] = max(offered[GRAPHQL_RESPONSE], q)
        elif kind in (JSON, "application/*", "*/*"):
            offered[JSON] = max(offered[JSON], q)
    if offered[GRAPHQL_RESPONSE] > 0 and offered[GRAPHQL_RESPONSE] >= offered[JSON]:
        return GRAPHQL_RESPONSE
    return JSON


def content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8"


def error_body(code: str, message: str, reason: str | None = None) -> bytes:
    """A GraphQL-shaped error answer, with no ``data``: nothing ran. ``reason``, when given,
    is the key of the message's Japanese text (``schema/messages.py``)."""
    extensions = {"code": code} if reason is None else {"code": code, "reason": reason}
    return json.dumps(
        {"errors": [{"message": message, "extensions": extensions}]}, ensure_ascii=False
    ).encode()


def localized(
    accept_language: str | None, message: str, reason: str | None, **params: object
) -> str:
    """``message``, or its Japanese text when the request prefers Japanese and the catalog
    has one for ``reason``."""
    if reason is None or not messages.prefers_japanese(accept_language):
        return message
    found = messages.japanese(reason, params)
    return message if found is None else found


def error_response(
    status: int,
    code: str,
    message: str,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> Response:
    """A refusal before GraphQL ran, shaped like a GraphQL error."""
    return Response(
        error_body(code, message, reason),
        status_code=status,
        headers=dict(headers or {}),
        media_type=content_type(media_type),
    )


# The codes of failures that were the server's, not the client's, and passing: every
# ``ArchiveError`` kind but ``Refused``, and the codes the classes below them name.
UNAVAILABLE = frozenset(
    kind.code
    for kind in (
        StoreProblem,
        StoreBusy,
        StoreTimeout,
        StoreFull,
        IndexProblem,
        TimedOut,
        SearchTimeout,
    )
)


def status(code: str) -> int:
    """The HTTP status of an error answer with ``code``: 503 when the store, the index or
    the time could not serve it, 500 for a fault of ours, else 400 (the client's request)."""
    if code in UNAVAILABLE:
        return 503
    return 500 if code == INTERNAL else 400


def settle(
    response: Response, media_type: str, request_error_codes: list[str | None] | None
) -> None:
    """Give a GraphQL answer its media type and, under ``application/graphql-response+json``,
    a request error (``request_error_codes`` not None) the status of its gravest code.
    GraphiQL's page, an HTML answer, is left as is."""
    if not response.headers.get("content-type", "").startswith(JSON):
        return
    response.headers["content-type"] = content_type(media_type)
    if media_type != GRAPHQL_RESPONSE or request_error_codes is None:
        return
    if response.status_code == 200:
        response.status_code = max(
            (status(code or "") for code in request_error_codes), default=400
        )


# Caching of GET answers. The media type of an answer (and GraphiQL's page instead of JSON)
# depends on Accept, so every GET answer says ``Vary: Accept``. The archive changes whenever
# a report is ingested or deleted, at no time an answer could announce, so an answer a cache
# may keep is ``no-cache``: kept, but checked with the server before each use, never served
# stale. An error, or an answer holding one (a timeout, a busy store: passing), is
# ``no-store``. POST answers are never kept by HTTP caches and get neither.
REUSABLE = "no-cache"
NOT_REUSABLE = "no-store"


def vary_on_accept(response: Response) -> None:
    """Add ``Accept`` to the answer's ``Vary``, keeping the names already there (in one
    header, however many there were)."""
    listed = (name.strip() for vary in response.headers.getlist("vary") for name in vary.split(","))
    names = [name for name in listed if name]
    if not any(name == "*" or name.lower() == "accept" for name in names):
        names.append("Accept")
    response.headers["vary"] = ", ".join(names)


def cache_get_answer(
    response: Response, reusable: bool, if_none_match: str | None = None
) -> Response:
    """The caching headers of a GET answer: ``Vary: Accept``, and ``Cache-Control``
    ``no-cache`` for an answer that may be reused (a query answered without errors, 200;
    one that set its own keeps it), else ``no-store``. A reusable answer gets an ``ETag``
    (a digest of its body and media type), and a request whose ``If-None-Match`` names it
    gets 304 without the body: a cache revalidates what it holds for a few hundred bytes."""
    vary_on_accept(response)
    if not (reusable and response.status_code == 200):
        response.headers["cache-control"] = NOT_REUSABLE
        return response
    response.headers.setdefault("cache-control", REUSABLE)
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or "etag" in response.headers:
        return response
    # The media type is in the digest: the same body under another type is another answer.
    digest = hashlib.blake2b(body, digest_size=16)
    digest.update(response.headers.get("content-type", "").encode())
    tag = f'"{digest.hexdigest()}"'
    response.headers["etag"] = tag
    if if_none_match is None or not _names_tag(if_none_match, tag):
        return response
    kept = ("etag", "vary", "cache-control")
    return Response(status_code=304, headers={name: response.headers[name] for name in kept})


def _names_tag(if_none_match: str, tag: str) -> bool:
    """Whether ``If-None-Match`` holds ``tag`` (or ``*``), by the weak comparison RFC 9110
    asks for this header: a ``W/`` prefix is ignored."""
    for listed in if_none_match.split(","):
        listed = listed.strip()
        if listed == "*" or listed.removeprefix("W/") == tag:
            return True
    return False


# Automatic persisted queries (Apollo's protocol, also spoken by graphql-yoga, urql, gql):
# a client sends ``extensions.persistedQuery = {version: 1, sha256Hash}`` without the query;
# a server that knows the hash runs the query it stands for, and one that does not answers
# PERSISTED_QUERY_NOT_FOUND, after which the client sends the query with its hash once.
# Queries repeat, so the portal's requests become short GETs that an HTTP cache can hold.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERIES = 2_000  # kept per process, the least recently used dropped first
PERSISTED_QUERY_CHARACTERS = 8_192  # a query longer than this is run but not kept
PERSISTED_CHARACTERS = 2_000_000  # all kept queries together, at most (8 MB as UCS-4)


class PersistedQueryRefused(Exception):
    """A persisted-query request the server cannot run: ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PersistedQueries:
    """The queries this process has seen, by their SHA-256 (hex)."""

    def __init__(self, size: int = PERSISTED_QUERIES) -> None:
        self._size = size
        # At most ``size`` queries, PERSISTED_CHARACTERS in all, the least recently used
        # dropped first; under a lock, since requests work in several threads.
        self._queries = LRUCache[str, str](maxsize=PERSISTED_CHARACTERS, getsizeof=len)
        self._lock = threading.Lock()

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The query to run: ``query`` itself (kept under its hash when it names one, which
        must be its own), or the one kept under the hash named. Raises
        ``PersistedQueryRefused``."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        version = persisted.get("version") if isinstance(persisted, dict) else None
        if type(version) is not int or version != 1:
            raise PersistedQueryRefused(
                "BAD_REQUEST", "extensions.persistedQuery must be {version: 1, sha256Hash}"
            )
        assert isinstance(persisted, dict)
        named = persisted.get("sha256Hash")
        if not isinstance(named, str) or not re.fullmatch(r"[0-9a-f]{64}", named):
            raise PersistedQueryRefused(
                "BAD_REQUEST", "sha256Hash must be 64 lower-case hexadecimal digits"
            )
        if query is None:
            with self._lock:
                found = self._queries.get(named)
            if found is None:
                raise PersistedQueryRefused(PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
            return found
        if hashlib.sha256(query.encode()).hexdigest() != named:
            raise PersistedQueryRefused(
                "BAD_REQUEST", "sha256Hash is not the SHA-256 of the query sent with it"
            )
        if len(query) <= PERSISTED_QUERY_CHARACTERS:
            with self._lock:
                self._queries[named] = query
                while len(self._queries) > self._size:
                    self._queries.popitem()
        return query
