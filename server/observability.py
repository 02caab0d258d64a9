"""Operations: Prometheus figures at ``/metrics`` and one structured log line per request.

``Observer`` is a pure ASGI middleware (``BaseHTTPMiddleware`` would break streaming and
contextvars). For each HTTP request it picks a request id (a sane incoming ``X-Request-ID``,
or a new one), returns it in the response's ``X-Request-ID``, makes it visible to every log
record emitted meanwhile (a contextvar read by ``RequestIdFilter``), counts the request and
its latency by GraphQL operation and status class, and logs one access line.

Figures that live in shared state anyway (documents and measures in the store, queued index
work, the index generation) are read at scrape time by ``ArchiveCollector``, so they are
right whichever worker answers and whichever process wrote. Per-request figures live in each
process; under ``plan-archive serve`` they go through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve`` before anything imports prometheus_client), so
a scrape sums every worker. docs/decisions/0006-metrics-across-workers.md says why.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any
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
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive import queries
from index.search import IndexNotBuilt, Searcher
from index.writing import IndexDamaged, IndexOutdated, age_seconds
from index.writing import position as index_position
from server.limits import send_error

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

# Fixed operation labels; GraphQL names cannot contain "<", so none collides with a real one.
INVALID = "<invalid>"  # an unreadable GraphQL request (bad JSON, syntax), or no operation chosen
UNKNOWN = "<unknown>"  # an operation selecting a root field the schema does not have
OTHER = "<other>"  # past the bound on distinct labels (a safety net: see OperationLabels)
NONE = ""  # a request outside /graphql (/healthz, /metrics, an export)
MAX_OPERATIONS = 100  # distinct operation labels per process
_MULTIPART_PREFIX = 64 << 10  # the "operations" part comes first in a GraphQL upload

access_log = logging.getLogger("plan_archive.access")
logger = logging.getLogger("plan_archive.server")


def request_id(incoming: str | None) -> str:
    """The incoming id when it is short and of safe characters, else a new one."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


# Logs ------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being handled ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


_SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the access line's
    fields, and the traceback of an exception.

    A traceback holds code lines and each exception's message, never local variables. The
    values SQLAlchemy quotes in a statement error's message (``[parameters: ...]``: what a
    client searched for, a file's text) are removed; a database's own message may still
    quote a value it refused (PostgreSQL's ``DETAIL: Key (...)=(...)``).
    """

    def formatException(self, ei: Any) -> str:
        return _SQL_PARAMETERS.sub("[parameters: not logged]", super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update(getattr(record, "access", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
LOG_FORMATS = ("json", "text")


def log_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``log_format`` ("json" or "text") lines, each with its request id."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())  # on the handler, so propagated records get it too
    return handler


def configure_logging(log_format: str) -> None:
    """Send every log record of this process to stderr as ``log_format`` lines (the server's
    processes only: replaces the command line's plain handler)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(log_format))
    logging.getLogger("plan_archive").setLevel(logging.INFO)


# Operation labels ----------------------------------------------------------------------


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


class OperationLabels:
    """Bounds the distinct operation labels of a process: past ``limit``, new ones are OTHER.

    Labels are made of the schema's root fields only, yet any combination of them is one:
    the bound keeps a client that tries them all from filling Prometheus."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self.limit = limit
        self.seen: set[str] = {INVALID, UNKNOWN, OTHER, NONE}

    def bound(self, label: str) -> str:
        if label in self.seen:
            return label
        if len(self.seen) - 4 >= self.limit:
            return OTHER
        self.seen.add(label)
        return label


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


# Metrics -------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The per-process figures, and the scrape that reports them with the shared ones.

    With ``multiprocess_dir`` (``plan-archive serve``) every process writes its figures to
    files there and a scrape sums them all; without it (one process: tests, an embedding
    app) they live in this object's own registry.
    """

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        multiprocess = values.ValueClass is not values.MutexValue
        if multiprocess_dir is not None and not multiprocess:
            raise RuntimeError(
                "PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is imported"
            )
        if multiprocess_dir is None and multiprocess:
            # Figures would go to that folder's files, yet scrapes would read this registry.
            raise RuntimeError(
                "prometheus_client is in multiprocess mode (PROMETHEUS_MULTIPROC_DIR was set "
                "when it was imported): pass that folder"
            )
        self.multiprocess_dir = multiprocess_dir
        # In multiprocess mode the figures go to files, not to a registry of this process.
        self.registry: CollectorRegistry | None = (
            CollectorRegistry() if multiprocess_dir is None else None
        )
        registry = self.registry
        self.requests = Counter(
            "plan_archive_requests",
            "HTTP requests answered, by route, GraphQL operation and status class.",
            ["path", "operation", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "plan_archive_request_duration_seconds",
            "Time from a request's arrival to its last response byte, by route and operation.",
            ["path", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.search_seconds = Histogram(
            "plan_archive_search_duration_seconds",
            "Time of each full-text index search (the searcher call alone).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache_lookups = Counter(
            "plan_archive_response_cache_lookups",
            "Response cache lookups, by result (hit or miss).",
            ["result"],
            registry=registry,
        )
        self.ingested_documents = Counter(
            "plan_archive_ingested_documents",
            "Reports offered for ingest, by way in (api, cli) and outcome (stored, replaced, "
            "unchanged, unstructured, refused, failed).",
            ["via", "outcome"],
            registry=registry,
        )
        self.ingested_measures = Counter(
            "plan_archive_ingested_measures",
            "Measures written by stored or replaced reports, by way in (api, cli).",
            ["via"],
            registry=registry,
        )
        self.operations = OperationLabels()
        self.shared: list[Collector] = []  # read at scrape time (ArchiveCollector)

    def cache_lookup(self, hit: bool) -> None:
        self.cache_lookups.labels("hit" if hit else "miss").inc()

    def ingest(self, via: str, outcome: str, measures: int) -> None:
        """Count one report offered for ingest; ``outcome`` as in ``archive.ingest.Outcome``'s
        names, "refused" (the file's fault) or "failed" (the store's or a bug)."""
        self.ingested_documents.labels(via, outcome).inc()
        if outcome in ("stored", "replaced"):
            self.ingested_measures.labels(via).inc(measures)

    def scrape(self) -> bytes:
        registry = CollectorRegistry()
        if self.multiprocess_dir is not None:
            MultiProcessCollector(registry, str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        else:
            assert self.registry is not None
            registry.register(_Forward(self.registry))
        for collector in self.shared:
            registry.register(collector)
        return generate_latest(registry)

    def endpoint(self, _: Request) -> Response:
        """Sync on purpose: Starlette runs it in its thread pool, so the store's counts and the
        merge of every process's files never hold up the event loop."""
        return Response(self.scrape(), media_type=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    """Another registry's figures, so one scrape can add the shared ones to them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.source = registry

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


class ArchiveCollector(Collector):
    """Figures of the shared store and index, read when scraped: right whichever worker is
    asked and whichever process (a server, ``plan-archive ingest``) wrote."""

    def __init__(self, sessions: sessionmaker[Session], searcher: Searcher) -> None:
        self.sessions = sessions
        self.searcher = searcher

    def collect(self) -> Iterable[Metric]:
        try:
            at = index_position(self.searcher.root)
        except (IndexDamaged, IndexOutdated):
            at = None  # /readyz says why
        try:
            with self.sessions() as db:
                documents = queries.root_list_size(db, "Query.documents") or 0
                measures = queries.measure_total(db)
                # Read whether or not the index is built: the log is part of the store.
                behind = queries.index_log_lag(db, at or 0)
        except SQLAlchemyError:
            # The request figures are still worth a scrape: the store's are left out, and
            # plan_archive_store_up says why.
            logger.warning("metrics: cannot read the store's figures", exc_info=True)
            yield GaugeMetricFamily(
                "plan_archive_store_up", "1 when the last scrape read the store, else 0.", 0
            )
        else:
            yield GaugeMetricFamily(
                "plan_archive_store_up", "1 when the last scrape read the store, else 0.", 1
            )
            yield GaugeMetricFamily("plan_archive_documents", "Reports in the store.", documents)
            yield GaugeMetricFamily("plan_archive_measures", "Measures in the store.", measures)
            if at is not None:  # none before this node's index is built
                count, oldest = behind
                yield GaugeMetricFamily(
                    "plan_archive_index_pending_tasks",
                    "Entries of the store's index log this node's index has not applied yet "
                    "(0 when in step).",
                    count,
                )
                yield GaugeMetricFamily(
                    "plan_archive_index_lag_seconds",
                    "Age of the oldest store change this node's index has not applied "
                    "(0 when in step): how far its searches are behind the store.",
                    age_seconds(oldest),
                )
        info = GaugeMetricFamily(
            "plan_archive_index_generation",
            "The index state searches use: 1 for the current generation (folder.commit).",
            labels=["generation"],
        )
        try:
            info.add_metric([self.searcher.generation()], 1)
        except IndexNotBuilt:
            info.add_metric(["none"], 0)
        yield info


# The middleware ------------------------------------------------------------------------


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
