"""The search page: ``/`` serves ``static/index.html``, ``/static/…`` its script, style and icon.

The page is plain files (no build step) that talk only to ``/graphql``. Every answer carries a
Content-Security-Policy allowing only this origin, so nothing but our own script runs on it and
nothing is fetched from elsewhere; a fragment of API text that slipped into the DOM as markup
could still not load or run anything. ``require-trusted-types-for 'script'`` goes further: the
browser refuses every string-to-markup sink (``innerHTML``, ``insertAdjacentHTML``,
``document.write``…), so the page's script can only build text nodes and elements.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; font-src 'self' data:; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


_TRUSTED_TYPES = "; require-trusted-types-for 'script'"
GRAPHIQL_HEADERS = {
    **SECURITY_HEADERS,
    "content-security-policy": SECURITY_HEADERS["content-security-policy"].replace(
        _TRUSTED_TYPES, ""
    ),
}


class _Secured:
    """Adds SECURITY_HEADERS to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.decode().lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured_send)


async def _index(scope: Scope, receive: Receive, send: Send) -> None:
    # no-cache: a browser revalidates (ETag), so a new release's page is seen at once.
    response = FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})
    await response(scope, receive, send)


def routes() -> list[BaseRoute]:
    """The page's routes, for ``create_app``."""
    return [
        Route("/", _Secured(_index), methods=["GET", "HEAD"]),
        Mount("/static", _Secured(StaticFiles(directory=STATIC)), name="static"),
    ]


def graphiql() -> Response:
    """GraphiQL's page (``GET /graphql`` from a browser): its files are ours to serve, under
    ``/static/graphiql`` (pinned versions, their licences beside them), so it loads on a
    network without internet, under the page's Content-Security-Policy but for Trusted
    Types: GraphiQL renders the schema's descriptions (its own markdown-it output) and its
    hover and search boxes with ``innerHTML``, and Trusted Types would blank the page at the
    first of them. Scripts, styles, fonts and connections stay this origin's only."""
    page = (STATIC / "graphiql" / "index.html").read_bytes()
    return HTMLResponse(page, headers={**GRAPHIQL_HEADERS, "cache-control": "no-cache"})
