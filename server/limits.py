"""Request limits that act before GraphQL sees a request: body size and time.

A refusal is a GraphQL-shaped JSON error (``errors[].extensions.code``), so clients handle
it like any other error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class RequestLimits:
    """Refuse bodies over ``max_body`` bytes (``max_upload`` for multipart uploads) with 413,
    and requests running longer than ``timeout`` seconds with 503."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        cap = self.max_upload if multipart else self.max_body
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            await _error(send, 413, "PAYLOAD_TOO_LARGE", f"the request body is over {cap} bytes")
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, counted_receive, watched_send), self.timeout)
        except _TooLarge:
            if not started:
                await _error(
                    send, 413, "PAYLOAD_TOO_LARGE", f"the request body is over {cap} bytes"
                )
        except TimeoutError:
            if not started:
                await _error(
                    send, 503, "TIMEOUT", f"the request took longer than {self.timeout:g} s"
                )


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
