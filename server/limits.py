"""Request limits that act before GraphQL sees a request: body size and time.

A refusal is a GraphQL-shaped JSON error (``errors[].extensions.code``), so clients handle
it like any other error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.errors import TIMEOUT
from server import over_http

logger = logging.getLogger("plan_archive.server")

_STREAMING = "plan_archive.streaming"  # a key in scope["state"]
_DEADLINE = "plan_archive.deadline"  # a key in scope["state"]


def deadline(scope: Scope) -> float | None:
    """When this request's time is up (``time.monotonic()``), as ``RequestLimits`` set it."""
    found = scope.get("state", {}).get(_DEADLINE)
    return found if isinstance(found, float) else None


def allow_streaming(scope: Scope) -> None:
    """Let this request's answer, once started, run until the stream timeout: an export calls
    this before it sends its first message. Any other answer keeps the request timeout."""
    scope.setdefault("state", {})[_STREAMING] = True


class BodyTooLarge(Exception):
    """Raised by the ``receive`` that ``RequestLimits`` hands the app, once a body without a
    Content-Length (chunked) passes its cap. An app that catches every exception must let
    this one through: ``RequestLimits`` answers it with 413."""


class RequestLimits:
    """Refuse bodies over ``max_body`` bytes (``max_upload`` for multipart uploads) with 413,
    and requests not answered within ``timeout`` seconds with 503. An answer that asked for it
    (``allow_streaming``, i.e. an export) may, once started, run until ``stream_timeout``
    seconds after the request began; every other answer must be sent within ``timeout``.
    Past its time the connection is closed before the body's end, so the client sees an
    incomplete body (never a complete-looking, truncated file)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        timeout: float,
        stream_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.timeout = timeout
        self.stream_timeout = max(timeout, stream_timeout or timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        cap = self.max_upload if multipart else self.max_body
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            await _too_large(send, scope, cap)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge
            return message

        begun = asyncio.get_running_loop().time()
        # The work behind the answer (in a worker thread) stops at the same time.
        scope.setdefault("state", {})[_DEADLINE] = time.monotonic() + self.timeout
        try:
            async with asyncio.timeout(self.timeout) as deadline:

                async def watched_send(message: Message) -> None:
                    nonlocal started
                    if message["type"] == "http.response.start" and not started:
                        started = True
                        if scope.get("state", {}).get(_STREAMING):
                            # An export takes longer to send than to start: it gets the
                            # stream timeout for the whole.
                            deadline.reschedule(begun + self.stream_timeout)
                    await send(message)

                await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, scope, cap)
        except TimeoutError:
            if not started:
                message = f"the request took longer than {self.timeout:g} s"
                await send_error(
                    send,
                    scope,
                    over_http.status(TIMEOUT),
                    TIMEOUT,
                    message,
                    TIMEOUT,
                    seconds=f"{self.timeout:g}",
                )
            else:  # too late for an error: the connection closes before the body's end
                streaming = scope.get("state", {}).get(_STREAMING)
                limit = self.stream_timeout if streaming else self.timeout
                logger.warning("an answer ran past %g s and was cut", limit)


async def _too_large(send: Send, scope: Scope, cap: int) -> None:
    message = f"the request body is over {cap} bytes"
    await send_error(send, scope, 413, "PAYLOAD_TOO_LARGE", message, "PAYLOAD_TOO_LARGE", limit=cap)


async def send_error(
    send: Send,
    scope: Scope,
    status: int,
    code: str,
    message: str,
    reason: str | None = None,
    **params: object,
) -> None:
    """Answer with a GraphQL-shaped error, in the media type the request accepts
    (``server/over_http.py``); in Japanese for a request that prefers it, when ``reason``
    has a Japanese text (``schema/messages.py``)."""
    headers_in = dict(scope["headers"])
    accept = headers_in.get(b"accept", b"").decode("latin-1")
    language = headers_in.get(b"accept-language", b"").decode("latin-1")
    message = over_http.localized(language, message, reason, **params)
    body = over_http.error_body(code, message, reason)
    headers: list[Any] = [
        (b"content-type", over_http.content_type(over_http.answer_type(accept)).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
