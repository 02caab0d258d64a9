"""The per-request context: the database handle and the DataLoaders, built fresh for each request.

Loaders cache what they load, so they must never outlive a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import strawberry
from sqlalchemy.orm import Session, sessionmaker
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from archive import queries
from archive.db import limit_session
from archive.lineage import Lineages
from archive.pdf import PdfLimits
from index.search import Searcher
from schema.limits import Limits
from schema.loaders import Loaders


@dataclass
class Context:
    db: Session
    searcher: Searcher
    limits: Limits = field(default_factory=Limits)
    authenticated: bool = False  # a valid bearer token came with the request
    japanese: bool = False  # Accept-Language prefers ja: refusals in Japanese (schema/messages.py)
    writer: sessionmaker[Session] | None = None  # for mutations: write transactions
    # For mutations: ask for the index to take the stored changes, waiting up to the given
    # seconds; whether it has (index/background.py). The change is stored either way.
    update_index: Callable[[float], bool] | None = None
    # When the request's time is up (time.monotonic()); store statements and searches stop
    # there (the server sets it from its request timeout).
    deadline: float | None = None
    pdf_limits: PdfLimits = field(default_factory=PdfLimits)  # for uploaded PDFs
    # Told of each report offered to ingestDocument: its outcome ("stored", "replaced",
    # "unchanged", "unstructured", "refused" for the file's fault, or "failed" when the store
    # or the server failed) and the measures it holds (server metrics).
    on_ingest: Callable[[str, int], None] | None = None
    # Set after the operation: a query answered without errors, whose answer depends only
    # on the archive's data, so a response cache may keep it (see server/cache.py).
    cacheable: bool = False
    # Histories worked out per data version, shared by the process's requests.
    lineages: Lineages | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.lineages)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never below zero), or None without one."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)

    def writing(self) -> Session:
        """A write session (mutations), its statements stopped at the deadline."""
        if self.writer is None:
            raise RuntimeError("this context has no writer")
        session = self.writer()
        return session if self.deadline is None else limit_session(session, self.deadline)

    def after_write(self) -> None:
        """After a mutation committed: the request's reader ends the snapshot it may hold (and
        forgets the rows and loader results read in it), so what is read next, the mutation's
        own answer included, is the archive as written. Ids are kept across a replacement,
        so an older snapshot would answer the replaced version under the same id."""
        self.db.rollback()
        self.db.expunge_all()
        self.loaders = Loaders(self.db, self.lineages)

    def list_size(self, key: str) -> int | None:
        """How many items a root list holds now, for the query-cost estimate."""
        return queries.root_list_size(self.db, key)

    def close(self) -> None:
        self.db.close()


Info = strawberry.Info[Context, None]


class CloseContext(SchemaExtension):
    """Ends the request's database transaction once the operation is done, and notes whether
    its answer may be cached."""

    def on_operation(self) -> Iterator[None]:
        yield
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context):
            context.close()
            try:
                query = execution.operation_type is OperationType.QUERY
            except RuntimeError:  # no operation could be chosen
                query = False
            result = execution.result
            context.cacheable = query and result is not None and not result.errors
