"""The Starlette application: GraphQL at /graphql, liveness at /healthz."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from archive.db import reader
from schema import build_schema
from schema.context import Context
from server.resources import open_searcher, open_store
from server.settings import Settings


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(build_schema(), **kwargs)
        self.engine = open_store(settings)
        self.sessions = reader(self.engine)
        self.searcher = open_searcher(settings)  # one per process, reused by every request

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(db=self.sessions(), searcher=self.searcher)


def create_app(settings: Settings, *, graphiql: bool = True) -> Starlette:
    graphql = GraphQLApp(settings, graphql_ide="graphiql" if graphiql else None)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        graphql.searcher.close()
        graphql.engine.dispose()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """The factory ``plan-archive serve`` hands to uvicorn: settings from the environment."""
    return create_app(Settings.from_env(os.environ))
