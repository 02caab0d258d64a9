"""The per-request context: the database handle and the DataLoaders, built fresh for each request.

Loaders cache what they load, so they must never outlive a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from archive import queries
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
    writer: sessionmaker[Session] | None = None  # for mutations: write transactions
    index_dir: Path | None = None  # for mutations: the index they keep in step
    pdf_limits: PdfLimits = field(default_factory=PdfLimits)  # for uploaded PDFs
    # Told of each report offered to ingestDocument: its outcome ("stored", "replaced",
    # "unchanged", "unstructured", "refused" for the file's fault, or "failed" when the store
    # or the server failed) and the measures it holds (server metrics).
    on_ingest: Callable[[str, int], None] | None = None
    # Set after the operation: a query answered without errors, whose answer depends only
    # on the archive's data, so a response cache may keep it (see server/cache.py).
    cacheable: bool = False
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)

    def list_size(self, key: str) -> int | None:
        """How many items a root list holds now, for the query-cost estimate."""
        return queries.root_list_size(self.db, key)

    def close(self) -> None:
        self.db.close()


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
