"""Searching documents archived without structure (#16 point 5).

A report the reader found no measures in is stored whole, and the index holds it as one
entry of kind "document": its title and its whole text. ``search`` gives measures (its
edges' node is a ``Measure!``, a contract), so such documents have a connection of their
own, ``searchDocuments``: the same query syntax, ranking, cursors (``schema/search_paging.py``)
and limits, with a document as each edge's node and highlights of its title and text.
Structured reports are searched through their measures (pillar titles included), not here.
"""

from __future__ import annotations

import enum

import strawberry
from sqlalchemy.orm import Session

from archive import queries
from index.highlights import highlight
from index.search import SEARCH_TIMEOUT, Results, Searcher, SearchOptions
from schema.context import Info
from schema.highlights import html_fragments
from schema.pagination import PageInfo
from schema.search_paging import search_cursor_kind, search_page
from schema.types import Document, SearchOrder


@strawberry.enum(description="A field of a document, as its search highlights name it.")
class DocumentField(enum.Enum):
    TITLE = strawberry.enum_value("title", description="`Document.title`.")
    TEXT = strawberry.enum_value(
        "text", description="`Document.text`: the whole text, wrapped lines rejoined."
    )


@strawberry.type(
    description="Matched text of one field of a document, the matches in <mark>…</mark>: "
    "for a long text, fragments around its first matches (at most 3)."
)
class DocumentHighlight:
    field: DocumentField
    fragments: list[str]


@strawberry.type(description="A document that matches a search, with its score and highlights.")
class DocumentSearchEdge:
    cursor: str
    score: float
    node: Document
    highlights: list[DocumentHighlight]


@strawberry.type(
    description="Documents archived without structure that match a search; a cursor holds "
    "until the hits up to it change (then CURSOR_EXPIRED), as `search`'s."
)
class DocumentSearchConnection:
    total_count: int
    edges: list[DocumentSearchEdge]
    page_info: PageInfo


@strawberry.input(description="Every given condition must hold; a list means any of its values.")
class DocumentSearchFilter:
    fiscal_years: list[int] | None = None
    fiscal_year_from: int | None = strawberry.field(default=None, description="Inclusive.")
    fiscal_year_to: int | None = strawberry.field(default=None, description="Inclusive.")
    municipalities: list[str] | None = strawberry.field(
        default=None, description="Exact municipality names."
    )


def document_search_results(
    db: Session,
    searcher: Searcher,
    query: str,
    where: DocumentSearchFilter | None,
    order: SearchOrder,
    *,
    offset: int,
    limit: int,
    timeout: float | None = None,
    digests_at: tuple[int, ...] = (),
) -> Results:
    """The documents without structure that match ``query`` and ``where``, ``limit`` of
    them from ``offset`` in ``order``; errors as ``search_results``'."""
    document_ids = None
    if where is not None and any(
        value is not None
        for value in (where.fiscal_year_from, where.fiscal_year_to, where.municipalities)
    ):
        document_ids = frozenset(
            queries.document_ids_where(
                db,
                fiscal_year_from=where.fiscal_year_from,
                fiscal_year_to=where.fiscal_year_to,
                municipalities=where.municipalities,
            )
        )
    options = SearchOptions(
        fiscal_years=where.fiscal_years if where else None,
        kinds=("document",),
        sort=order.value,
        offset=offset,
        limit=limit,
        document_ids=document_ids,
        timeout=SEARCH_TIMEOUT if timeout is None else min(SEARCH_TIMEOUT, timeout),
        digests_at=digests_at,
    )
    return searcher.search(query, options)


def document_search_connection(
    info: Info,
    query: str,
    where: DocumentSearchFilter | None,
    order: SearchOrder,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> DocumentSearchConnection:
    """A page of ``searchDocuments``: hits between the cursors, paged as ``search``."""
    kind = search_cursor_kind("documents", query, where, order.value)

    def run(offset: int, limit: int, digests_at: tuple[int, ...] = ()) -> Results:
        return document_search_results(
            info.context.db,
            info.context.searcher,
            query,
            where,
            order,
            offset=offset,
            limit=limit,
            timeout=info.context.remaining(),
            digests_at=digests_at,
        )

    largest = info.context.limits.max_page_size
    paging = search_page(kind, first, after, last, before, largest, lambda: run(0, 0).total)
    results = run(paging.offset, paging.limit, paging.digests_at)
    paging.check(results)
    rows = queries.document_hits(info.context.db, [hit.document_id for hit in results.hits])
    edges = []
    for (hit, cursor), row in zip(paging.hits(results), rows, strict=True):
        if row is None:
            continue  # deleted from the store after the index was read
        edges.append(
            DocumentSearchEdge(
                cursor=cursor,
                score=hit.score,
                node=Document.from_row(row.document),
                highlights=[
                    DocumentHighlight(field=DocumentField(h.field), fragments=html_fragments(h))
                    for h in highlight(row.fields, hit.matched)
                ],
            )
        )
    return DocumentSearchConnection(
        total_count=results.total,
        edges=edges,
        page_info=paging.page_info(results.total, [edge.cursor for edge in edges]),
    )
