"""The per-request context: the database handle and the DataLoaders, built fresh for each request.

Loaders cache what they load, so they must never outlive a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from strawberry.extensions import SchemaExtension

from index.search import Searcher
from schema.limits import Limits
from schema.loaders import Loaders


@dataclass
class Context:
    db: Session
    searcher: Searcher
    limits: Limits = field(default_factory=Limits)
    authenticated: bool = False  # a valid bearer token came with the request
    writer: sessionmaker[Session] | None = None  # for mutations: write transactions
    index_dir: Path | None = None  # for mutations: the index they keep in step
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)

    def close(self) -> None:
        self.db.close()


class CloseContext(SchemaExtension):
    """Ends the request's database transaction once the operation is done."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            context.close()
