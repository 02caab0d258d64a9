"""The Starlette application: GraphQL at /graphql, liveness at /healthz, readiness at /readyz."""

from __future__ import annotations

import asyncio
import functools
import gc
import hmac
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from cross_web import HTTPException  # what Strawberry raises to refuse a request
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from archive import queries
from archive.db import limit_session, reader, store_problem, writer
from archive.lineage import Lineages
from index.background import BackgroundUpdates
from index.search import IndexNotBuilt
from index.writing import lag as index_lag
from schema.context import Context
from schema.errors import BAD_USER_INPUT, INTERNAL, INTERNAL_MESSAGE
from schema.inputs import TEXT_REFUSED
from schema.messages import prefers_japanese
from schema.operation_labels import OPERATION, Operation
from schema.root import build_schema
from server import balance, over_http
from server.cache import ResponseCache
from server.export import export_routes
from server.limits import RequestLimits
from server.limits import deadline as request_deadline
from server.logs import configure_logging
from server.metrics import ArchiveCollector, Metrics
from server.middleware import Observer
from server.offload import WorkerThreads
from server.page import graphiql
from server.page import routes as page_routes
from server.resources import open_searcher, open_store
from server.settings import Settings

logger = logging.getLogger("plan_archive.server")

SWITCH_INTERVAL = 0.001  # seconds; see app_from_env
WORK_MARGIN = 0.25  # seconds between the work's deadline and the request's


def authenticated(connection: HTTPConnection, tokens: tuple[str, ...]) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` for a configured token.

    Every configured token is compared in constant time, so timing tells nothing. With no
    token configured nobody is authenticated.
    """
    scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    matches = [hmac.compare_digest(presented.encode(), token.encode()) for token in tokens]
    return any(matches)


class TextRefused(HTTPException):
    """Text no store can hold, found before GraphQL ran: the client's mistake in a value, so
    BAD_USER_INPUT as when GraphQL finds it (``schema.inputs``)."""


class MethodRefused(HTTPException):
    """An operation the request's method may not run (a mutation over GET): 405."""

    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, metrics: Metrics | None = None, **kwargs: Any) -> None:
        schema = build_schema(settings.limits)
        super().__init__(schema, multipart_uploads_enabled=True, **kwargs)
        self.settings = settings
        self.metrics = metrics
        self.engine = open_store(settings)
        self.sessions = reader(self.engine)
        self.writer = writer(self.engine)
        # One searcher per process, reused by every request.
        self.searcher = open_searcher(settings, metrics.search_seconds.observe if metrics else None)
        self.lineages = Lineages()  # histories, kept per data version (archive/lineage.py)
        self.cache = ResponseCache(
            settings.response_cache_bytes, metrics.cache_lookup if metrics else None
        )
        # Index updates after a mutation run in one background thread (never on a request).
        self.index_updates = BackgroundUpdates(
            self.writer,
            settings.index_dir,
            poll=settings.index_poll or None,
            retention=settings.index_log_retention,
        )
        self.threads = WorkerThreads(settings.worker_threads)
        self.persisted = over_http.PersistedQueries()
        # An upload's PDF must be read within the request's own time limit.
        pdf = settings.pdf_limits
        seconds = min(pdf.seconds, settings.request_timeout)
        self.pdf_limits = replace(
            pdf, seconds=seconds, cpu_seconds=min(pdf.cpu_seconds, max(1, int(seconds)))
        )

    def decode_json(self, data: str | bytes) -> object:
        """JSON as Strawberry reads it, refusing text no database can hold: a ``\\ud800``
        escape decodes to a lone surrogate, which is not Unicode text. (A NUL is refused
        where it is used, by ``schema.inputs``.)"""
        try:
            value = json.loads(data)
        except UnicodeDecodeError:  # not the JSONDecodeError that Strawberry refuses itself
            raise HTTPException(400, "the request body is not UTF-8") from None
        except RecursionError:
            raise HTTPException(400, "the request's JSON nests too deeply") from None
        if not isinstance(value, dict | list):  # Strawberry reads fields of it (a list: batch)
            raise HTTPException(400, "the request's JSON must be an object")
        escaped = b"\\ud" if isinstance(data, bytes) else "\\ud"
        if escaped in data.lower():  # type: ignore[operator]
            try:
                json.dumps(value, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise TextRefused(
                    400, f"{TEXT_REFUSED}; the request holds a lone \\ud800-\\udfff escape"
                ) from None
        return value

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """A multipart request's operations, its files in place; a ``map`` or ``operations``
        of the wrong shape (a list, a path that is not text) is the client's mistake: 400,
        where Strawberry's own code would fail on it with a TypeError."""
        try:
            return await super().parse_multipart(request)
        except (TypeError, AttributeError, IndexError, ValueError):
            raise HTTPException(
                400, "the multipart request's operations or map is not of the right shape"
            ) from None

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's parameters; an empty ``operationName`` means none (GraphQL over
        HTTP), and one that is not a string is refused; a persisted query's hash stands for
        its query (``over_http.PersistedQueries``)."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            name: object = item.operation_name
            if name == "":
                item.operation_name = None
            elif name is not None and not isinstance(name, str):
                raise HTTPException(400, "operationName must be a string or null")
            item.query = self.persisted.resolve(item.query, item.extensions)
        return data

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as refused:
            if isinstance(refused.__cause__, InvalidOperationTypeError):
                raise MethodRefused(refused.reason) from None
            if isinstance(refused.__cause__, CannotGetOperationTypeError):
                # No such operationName: a request error like any other (GraphQL over HTTP)
                error = GraphQLError(refused.reason, extensions={"code": "BAD_REQUEST"})
                return ExecutionResult(data=None, errors=[error])
            raise

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """The answer's body; a request error (nothing executed: the document, the
        variables or the operation's choice was wrong) has no ``data`` entry."""
        processed = await super().process_result(request, result)
        errors = result.errors or []
        if result.data is None and errors and all(error.path is None for error in errors):
            processed.pop("data", None)
            codes = [(error.extensions or {}).get("code") for error in errors]
            request.state.request_error_codes = codes
        return processed

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query's GET names no query, only its hash: it is no browser's visit.
        return request.query_params.get("extensions") is None and bool(
            super().should_render_graphql_ide(request)
        )

    async def render_graphql_ide(self, request: Any) -> Response:
        request.state.reusable = True  # with its own Cache-Control (server/page.py)
        return graphiql()  # served from our own files, not a CDN (server/page.py)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            db=request.state.db,  # the request's session, made and closed by _answer
            searcher=self.searcher,
            limits=self.settings.limits,
            authenticated=authenticated(request, self.settings.api_tokens),
            japanese=prefers_japanese(request.headers.get("accept-language")),
            writer=self.writer,
            update_index=self.index_updates.request,
            deadline=getattr(request.state, "work_deadline", None),
            pdf_limits=self.pdf_limits,
            on_ingest=self._ingested if self.metrics else None,
            lineages=self.lineages,
        )
        request.state.context = context
        return context

    def _ingested(self, outcome: str, measures: int) -> None:
        assert self.metrics is not None
        self.metrics.ingest("api", outcome, measures)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        media_type = over_http.answer_type(connection.headers.get("accept"))
        # Multipart is how files are uploaded, and how a cross-site form posts without a CORS
        # preflight: only an authenticated request may use it.
        multipart = connection.headers.get("content-type", "").startswith("multipart/")
        response: Response
        reusable = False  # whether an HTTP cache may keep a GET answer (over_http)
        method = scope["method"]
        if method not in ("GET", "POST"):
            response = over_http.error_response(
                405,
                "METHOD_NOT_ALLOWED",
                f"GraphQL is served over GET and POST, not {method}",
                media_type,
                {"Allow": over_http.ALLOWED_METHODS},
            )
        elif multipart and not authenticated(connection, self.settings.api_tokens):
            message = "uploads need Authorization: Bearer <token> with a configured token"
            if not self.settings.api_tokens:
                message = "this server takes no uploads: PLAN_ARCHIVE_API_TOKENS is not set"
            response = over_http.error_response(401, "UNAUTHENTICATED", message, media_type)
        else:
            request = Request(scope=scope, receive=receive)
            try:
                # Read here, on the loop and under the request limits (a body over its size
                # ends the request with 413 from there): the worker thread never waits for
                # a client.
                await request.body()
            except ClientDisconnect:
                return  # the client went away; nobody to answer
            response = await self.threads.run(
                functools.partial(self._answer_safely, request, media_type),
                _work_deadline(scope),
            )
            reusable = getattr(request.state, "reusable", False)
        if method == "GET":
            response = over_http.cache_get_answer(
                response, reusable, connection.headers.get("if-none-match")
            )
        await response(scope, receive, send)

    async def _answer_safely(self, request: Request, media_type: str) -> Response:
        """The answer, or a GraphQL-shaped refusal; runs in a worker thread (server/offload.py)."""
        error = functools.partial(over_http.error_response, media_type=media_type)
        language = request.headers.get("accept-language")
        try:
            return await self._answer(request, media_type)
        except over_http.PersistedQueryRefused as refused:
            # Not found is a request error: 200 under application/json, as clients of the
            # protocol expect; a malformed one is refused as any bad request.
            not_found = refused.code == over_http.PERSISTED_QUERY_NOT_FOUND
            status = 200 if not_found and media_type == over_http.JSON else 400
            return error(status, refused.code, str(refused))
        except MethodRefused as refused:
            return error(405, "METHOD_NOT_ALLOWED", refused.reason, headers={"Allow": "POST"})
        except HTTPException as refused:  # Strawberry's own refusals, in plain text
            code = BAD_USER_INPUT if isinstance(refused, TextRefused) else "BAD_REQUEST"
            return error(refused.status_code, code, refused.reason)
        except StarletteHTTPException as refused:  # a multipart body Starlette cannot read
            return error(refused.status_code, "BAD_REQUEST", refused.detail)
        except Exception as failure:  # the store, or a bug: not the client's doing
            problem = store_problem(failure)
            if problem is not None:  # busy, slow or full: say so, without its SQL
                logger.warning("store problem answering a request: %s", problem)
                code = problem.code
                text = over_http.localized(language, str(problem), code)
                return error(over_http.status(code), code, text, reason=code)
            logger.error("unexpected error answering a request", exc_info=True)
            text = over_http.localized(language, INTERNAL_MESSAGE, INTERNAL)
            return error(over_http.status(INTERNAL), INTERNAL, text, reason=INTERNAL)
        finally:
            await request.close()  # an upload's files, when no resolver read and closed them

    async def _answer(self, request: Request, media_type: str) -> Response:
        """The answer from the response cache, or from GraphQL (kept if it may be cached).

        The request's session reads the data version first, so on SQLite the whole request
        reads the snapshot that the version names. Its statements stop at the deadline.
        """
        db = self.sessions()
        deadline = _work_deadline(request.scope)
        if deadline is not None:
            # Resolvers stop a little before the work is cut (server/offload.py), so that
            # a statement or search past its time answers with its own error.
            deadline -= WORK_MARGIN
            limit_session(db, deadline)
        request.state.work_deadline = deadline
        try:
            key = self._cache_key(request, db)
            # Labelled by the schema as it parses (schema/operation_labels.py); a hit is
            # labelled as the answer it repeats.
            operation = OPERATION.get() or Operation()
            if key is not None and (found := self.cache.get(key)) is not None:
                body, content_type, (operation.label, operation.name) = found
                request.state.reusable = True  # only answers without errors are kept
                return Response(body, media_type=content_type, headers={"x-cache": "hit"})
            request.state.db = db
            response = await self.run(request)
            codes = getattr(request.state, "request_error_codes", None)
            over_http.settle(response, media_type, codes)
            context = getattr(request.state, "context", None)
            if isinstance(context, Context) and context.cacheable and response.status_code == 200:
                request.state.reusable = True  # by HTTP caches too (over_http)
                if key is not None:
                    content_type = response.headers.get("content-type", "application/json")
                    labelled = (operation.label, operation.name)
                    self.cache.put(key, bytes(response.body), content_type, labelled)
            return response
        finally:
            db.close()

    def _cache_key(self, request: Request, db: Session) -> tuple[Any, ...] | None:
        if not self.cache.enabled or request.method not in ("GET", "POST"):
            return None
        body = b""
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith("application/json"):
                return None
            body = request._body  # read by __call__
        try:
            generation = self.searcher.generation()
        except IndexNotBuilt:
            generation = ""
        return (
            request.method,
            request.url.query,
            body,
            request.headers.get("accept", ""),
            queries.data_version(db),
            generation,
        )


def _work_deadline(scope: Scope) -> float | None:
    """When the work behind an answer is cut: a little before the request's own limit, so
    that a timeout is answered by the work (a GraphQL error) rather than by the loop."""
    limit = request_deadline(scope)
    if limit is None:
        return None
    return limit - WORK_MARGIN


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics(settings.metrics_dir) if settings.metrics else None
    graphql = GraphQLApp(settings, metrics, graphql_ide="graphiql" if settings.graphiql else None)
    if metrics is not None:
        metrics.shared.append(ArchiveCollector(graphql.sessions, graphql.searcher))

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def readyz(_: Request) -> Response:  # a sync endpoint: Starlette runs it in a thread
        checks = {"store": "ok", "index": "ok"}
        try:
            with graphql.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            checks["store"] = "unreachable"
        try:
            with graphql.searcher.snapshot():
                pass
        except IndexNotBuilt:
            checks["index"] = "not built"
        except Exception:
            checks["index"] = "unreadable"
        answer: dict[str, Any] = dict(checks)
        if checks["index"] == checks["store"] == "ok":
            # How far this node's index is behind the store's log (#19 point 2); an index
            # with no position is still being built from the store.
            try:
                behind = index_lag(graphql.writer, settings.index_dir)
            except Exception:
                behind = None
            if behind is None:
                checks["index"] = answer["index"] = "building"
            else:
                answer["index_behind"], answer["index_lag_seconds"] = behind[0], round(behind[1], 3)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(answer, status_code=200 if ready else 503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Follow the store's log from now on: changes written elsewhere (the CLI, another
        # node) reach this node's index without a request asking (#19 point 2).
        if settings.index_poll:
            graphql.index_updates.start()
        yield
        # Both wait for work in progress: in threads, so the loop keeps closing connections.
        await asyncio.to_thread(graphql.index_updates.close)
        await asyncio.to_thread(graphql.threads.close)
        graphql.searcher.close()
        graphql.engine.dispose()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql),  # every method: GraphQLApp answers 405 itself
        *export_routes(
            graphql.sessions,
            graphql.searcher,
            settings.max_export_rows,
            max_concurrent=settings.max_concurrent_exports,
        ),
        *page_routes(),
        *([Route("/metrics", metrics.endpoint)] if metrics is not None else []),
    ]
    limits: list[Middleware] = [
        Middleware(
            Observer,
            metrics=metrics,
            paths=frozenset(str(getattr(route, "path", "")) for route in routes),
        ),
        Middleware(
            RequestLimits,
            max_body=settings.max_body_bytes,
            max_upload=settings.max_upload_bytes,
            timeout=settings.request_timeout,
            stream_timeout=settings.stream_timeout,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=limits,
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _refused},
    )


async def _refused(request: Request, refusal: Exception) -> Response:
    """Starlette's routing refusals (no such path, a method a route does not take), shaped
    like every other error answer. The exports' refusals of their parameters stay one line
    of plain text (server/export.py)."""
    assert isinstance(refusal, StarletteHTTPException)
    status = refusal.status_code
    if status not in (404, 405):
        return PlainTextResponse(refusal.detail, status_code=status, headers=refusal.headers)
    code = "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED"
    media_type = over_http.answer_type(request.headers.get("accept"))
    return over_http.error_response(status, code, refusal.detail, media_type, refusal.headers)


def app_from_env() -> Starlette:
    """The factory ``plan-archive serve`` hands to uvicorn: settings from the environment,
    and the process's log lines in the configured format."""
    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_format)
    # The event loop shares the GIL with the worker threads (server/offload.py): a thread
    # waiting for it gets it after at most this interval, so the loop answers within a few
    # intervals however busy the workers are (Python's default is 5 ms).
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = create_app(settings)
    balance.join(os.environ)  # with --workers N, this worker counts from now on
    # What the process holds once it is ready (the schema, the models, the libraries:
    # hundreds of thousands of objects that live as long as it) leaves the garbage
    # collector's reach: a full collection walked them all, a pause of 0.1-0.3 s that
    # stopped every thread of the process, the event loop's included.
    gc.collect()
    gc.freeze()
    return app
