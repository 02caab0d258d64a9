"""The ASGI middleware that observes every HTTP request.

``Observer`` is a pure ASGI middleware (``BaseHTTPMiddleware`` would break streaming and
contextvars). For each HTTP request it picks a request id (a sane incoming ``X-Request-ID``,
or a new one), returns it in the response's ``X-Request-ID``, makes it visible to every log
record emitted meanwhile (``server.logs``), counts the request and its latency by GraphQL
operation and status class (``server.metrics``), and logs one access line. The operation's
label comes from the schema, which labels it as it parses it (``schema.operation_labels``).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.operation_labels import OPERATION, Operation
from server.limits import send_error
from server.logs import REQUEST_ID, request_id
from server.metrics import NONE, OTHER, Metrics

access_log = logging.getLogger("plan_archive.access")
logger = logging.getLogger("plan_archive.server")


class Observer:
    """Request id, access log line and request figures for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None,
        paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths  # the app's route paths, for requests refused before routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"]).get(b"x-request-id")
        rid = request_id(incoming.decode("latin-1") if incoming is not None else None)
        token = REQUEST_ID.set(rid)
        operation = Operation()  # labelled by the schema, when GraphQL runs
        operation_token = OPERATION.set(operation)
        status = 0
        sent = 0
        recorded = False

        def record(complete: bool) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            try:
                self._record(scope, operation, status, sent, started, complete)
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
            await self.app(scope, receive, observed_send)
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
                OPERATION.reset(operation_token)
                REQUEST_ID.reset(token)

    def _record(
        self,
        scope: Scope,
        operation: Operation,
        status: int,
        sent: int,
        started: float,
        complete: bool,
    ) -> None:
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None)
        if not isinstance(route, str):  # refused before routing (a 413), or no such route
            route = scope["path"] if scope["path"] in self.paths else None
        path = route if route is not None else OTHER
        label, name = (operation.label, operation.name) if path == "/graphql" else (NONE, None)
        if self.metrics is not None:
            label = self.metrics.operations.bound(label)
            if not status:
                status_class = "none"  # nothing was answered
            elif not complete:
                status_class = "incomplete"  # started, never finished: not a success
            else:
                status_class = f"{status // 100}xx"
            self.metrics.requests.labels(path, label, status_class).inc()
            self.metrics.request_seconds.labels(path, label).observe(seconds)
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
                    "operation": label or None,
                    "operation_name": name,
                    "response_bytes": sent,
                }
            },
        )
