"""The ASGI middleware that observes every HTTP request.

``Observer`` is a pure ASGI middleware (``BaseHTTPMiddleware`` would break streaming and
contextvars). For each HTTP request it picks a request id (a sane incoming ``X-Request-ID``,
or a new one), returns it in the response's ``X-Request-ID``, makes it visible to every log
record emitted meanwhile (``server.logs``), counts the request and its latency by GraphQL
operation and status class (``server.metrics``), and logs one access line.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
)
from graphql import parse as parse_graphql
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode, SelectionSetNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.limits import send_error
from server.logs import REQUEST_ID, request_id
from server.metrics import INVALID, NONE, OTHER, UNKNOWN, Metrics

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_MULTIPART_PREFIX = 64 << 10  # the "operations" part comes first in a GraphQL upload

access_log = logging.getLogger("plan_archive.access")
logger = logging.getLogger("plan_archive.server")


@functools.lru_cache(maxsize=512)
def _parsed(query: str) -> DocumentNode | None:
    try:
        return parse_graphql(query, no_location=True)
    except GraphQLError:
        return None


RootFields = dict[str, frozenset[str]]  # operation type ("query"...) -> its root fields


def root_fields(schema: GraphQLSchema) -> RootFields:
    """The fields each root type of ``schema`` has, meta-fields included: the only words an
    operation label is made of."""
    roots: RootFields = {}
    for kind, root in (
        ("query", schema.query_type),
        ("mutation", schema.mutation_type),
        ("subscription", schema.subscription_type),
    ):
        if root is not None:
            meta = {"__typename", "__schema", "__type"} if kind == "query" else {"__typename"}
            roots[kind] = frozenset(root.fields) | meta
    return roots


def operation_label(
    query: object, operation_name: object, roots: RootFields
) -> tuple[str, str | None]:
    """The operation's label and its name, for the figures and the access line.

    The label is the root fields the operation selects, sorted and joined by "," (aliases
    and the client's operation name play no part, so the schema bounds the labels); UNKNOWN
    when one of them is not in the schema, INVALID when no operation can be chosen. The name
    is the operation's own, when it is a GraphQL name of at most 64 characters.
    """
    if not isinstance(query, str) or not (
        operation_name is None or isinstance(operation_name, str)
    ):
        return INVALID, None
    document = _parsed(query) if len(query) <= 8192 else None
    if document is None:
        return INVALID, None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return INVALID, None
    chosen = operations[0]
    name = chosen.name.value if chosen.name is not None else None
    if name is not None and not _NAME.fullmatch(name):
        name = None
    fragments = {
        d.name.value: d.selection_set
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    fields = set(_root_fields(chosen.selection_set, fragments, set()))
    if not fields:
        return INVALID, name
    if not fields <= roots.get(chosen.operation.value, frozenset()):
        return UNKNOWN, name
    return ",".join(sorted(fields)), name


def _root_fields(
    selections: SelectionSetNode, fragments: dict[str, SelectionSetNode], seen: set[str]
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value  # the field, not its alias: the schema bounds those
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            if selection.name.value in fragments:
                yield from _root_fields(fragments[selection.name.value], fragments, seen)


# Where the app leaves the query a persisted query's hash stood for (server/app.py).
PERSISTED_QUERY = "plan_archive.persisted_query"


def graphql_request(scope: Scope, body: bytes) -> tuple[object, object]:
    """The query and operation name of a GraphQL-over-HTTP request: from the query string
    (GET), the JSON body, or the ``operations`` part of a multipart upload. A persisted
    query sent by its hash only is the query the app found for it (``PERSISTED_QUERY``)."""
    persisted = scope.get("state", {}).get(PERSISTED_QUERY)
    if persisted is not None:
        _, name = _sent(scope, body)
        return persisted, name
    return _sent(scope, body)


def _sent(scope: Scope, body: bytes) -> tuple[object, object]:
    if scope["method"] == "GET":
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return params.get("query", [None])[0], params.get("operationName", [None])[0]
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    try:
        if content_type.startswith("application/json"):
            payload = json.loads(body)
        elif content_type.startswith("multipart/form-data"):
            payload = json.loads(_multipart_operations(content_type, body))
        else:
            return None, None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    if not isinstance(payload, dict):
        return None, None  # a batch, or not an object
    return payload.get("query"), payload.get("operationName")


def _multipart_operations(content_type: str, body: bytes) -> bytes:
    boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
    if not boundary:
        return b""
    for part in body.split(b"--" + boundary.encode("latin-1")):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="operations"' in head:
            return content.removesuffix(b"\r\n")
    return b""


class Observer:
    """Request id, access log line and request figures for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None,
        max_body: int,
        roots: RootFields,
        paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.roots = roots  # the schema's root fields, which operation labels are made of
        self.paths = paths  # the app's route paths, for requests refused before routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id")
        rid = request_id(incoming.decode("latin-1") if incoming is not None else None)
        token = REQUEST_ID.set(rid)
        status = 0
        sent = 0
        chunks: list[bytes] = []
        kept = 0
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        # Only a GraphQL request's body names an operation: no other body is kept.
        cap = (
            0 if scope["path"] != "/graphql" else _MULTIPART_PREFIX if multipart else self.max_body
        )

        async def teed_receive() -> Message:
            nonlocal kept
            message = await receive()
            if message["type"] == "http.request" and kept < cap:
                body = message.get("body", b"")
                chunks.append(body[: cap - kept])
                kept += len(chunks[-1])
            return message

        recorded = False

        def record(complete: bool) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            try:
                self._record(scope, b"".join(chunks), status, sent, started, complete)
            except Exception:  # the figures and the line must never cost the answer
                logger.exception("cannot record %s %s", scope["method"], scope["path"])

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [
                        *(h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"),
                        (b"x-request-id", rid.encode("latin-1")),
                    ],
                }
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    # Counted before the client can have the whole answer, so a scrape
                    # made after it always includes it.
                    record(complete=True)
            await send(message)

        try:
            await self.app(scope, teed_receive, observed_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if status == 0:
                await send_error(
                    observed_send, scope, 500, "INTERNAL", "internal error", "INTERNAL"
                )
        finally:
            try:
                # No last body chunk was sent: the answer never started (a client gone
                # first), or stopped midway (a stream that failed, a client gone, a cut).
                record(complete=False)
            finally:
                REQUEST_ID.reset(token)

    def _record(
        self, scope: Scope, body: bytes, status: int, sent: int, started: float, complete: bool
    ) -> None:
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None)
        if not isinstance(route, str):  # refused before routing (a 413), or no such route
            route = scope["path"] if scope["path"] in self.paths else None
        path = route if route is not None else OTHER
        operation, name = NONE, None
        if path == "/graphql":
            operation, name = operation_label(*graphql_request(scope, body), self.roots)
        if self.metrics is not None:
            operation = self.metrics.operations.bound(operation)
            if not status:
                status_class = "none"  # nothing was answered
            elif not complete:
                status_class = "incomplete"  # started, never finished: not a success
            else:
                status_class = f"{status // 100}xx"
            self.metrics.requests.labels(path, operation, status_class).inc()
            self.metrics.request_seconds.labels(path, operation).observe(seconds)
        duration_ms = round(seconds * 1000, 2)
        access_log.info(
            "%s %s %s %.2fms%s",
            scope["method"],
            scope["path"],
            status,
            duration_ms,
            "" if complete else " incomplete",
            extra={
                "access": {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "complete": complete,
                    "duration_ms": duration_ms,
                    "operation": operation or None,
                    "operation_name": name,
                    "response_bytes": sent,
                }
            },
        )
