"""Lists as Relay connections (documents, departments), the store's filter for the API's
``MeasureFilter``, and one function behind every search of measures (the API's and the
exports'). Lists of measures are ``schema/measure_pages.py``."""

from __future__ import annotations

from dataclasses import fields

import strawberry
from sqlalchemy.orm import Session

from archive import queries
from index.search import (
    SEARCH_TIMEOUT,
    Results,
    Searcher,
    SearchOptions,
)
from schema.context import Info
from schema.pagination import PageInfo, keyset_page
from schema.types import (
    Department,
    Document,
    MeasureFilter,
    SearchOrder,
)


def archive_filter(where: MeasureFilter | None) -> queries.MeasureFilter:
    """The store's filter for the API's: the same conditions, under the same names."""
    if where is None:
        return queries.MeasureFilter()
    return queries.MeasureFilter(**{f.name: getattr(where, f.name) for f in fields(where)})


@strawberry.type
class DocumentEdge:
    cursor: str
    node: Document


@strawberry.type(description="Documents by fiscal year, municipality and id.")
class DocumentConnection:
    total_count: int
    edges: list[DocumentEdge]
    page_info: PageInfo


@strawberry.type
class DepartmentEdge:
    cursor: str
    node: Department


@strawberry.type(description="Departments by name (and id, for two of one name).")
class DepartmentConnection:
    total_count: int
    edges: list[DepartmentEdge]
    page_info: PageInfo


_DOCUMENT_KEY = (int, str, int)
_DEPARTMENT_KEY = (str, int)


def document_connection(
    info: Info, first: int | None, after: str | None, last: int | None, before: str | None
) -> DocumentConnection:
    """A page of every document, by keyset cursors on (fiscal year, municipality, id)."""
    db = info.context.db
    page, page_info = keyset_page(
        "document",
        _DOCUMENT_KEY,
        first,
        after,
        last,
        before,
        info.context.limits.max_page_size,
        lambda a, b, limit, backward: queries.document_page(
            db,
            after=a,
            before=b,
            limit=limit,
            backward=backward,
        ),
        queries.document_page_key,
    )
    return DocumentConnection(
        total_count=queries.count_documents(db),
        edges=[DocumentEdge(cursor=c, node=Document.from_row(row)) for c, row in page],
        page_info=page_info,
    )


def department_connection(
    info: Info, first: int | None, after: str | None, last: int | None, before: str | None
) -> DepartmentConnection:
    """A page of every department, by keyset cursors on (name, id)."""
    db = info.context.db
    page, page_info = keyset_page(
        "department",
        _DEPARTMENT_KEY,
        first,
        after,
        last,
        before,
        info.context.limits.max_page_size,
        lambda a, b, limit, backward: queries.department_page(
            db,
            after=a,
            before=b,
            limit=limit,
            backward=backward,
        ),
        queries.department_page_key,
    )
    return DepartmentConnection(
        total_count=queries.count_departments(db),
        edges=[DepartmentEdge(cursor=c, node=Department.from_row(row)) for c, row in page],
        page_info=page_info,
    )


def _needs_store(where: MeasureFilter) -> bool:
    """Conditions the index does not hold: the store lists the measures that meet them."""
    return any(
        value is not None
        for value in (
            where.fiscal_year_from,
            where.fiscal_year_to,
            where.municipalities,
            where.municipality_codes,
            where.prefectures,
            where.pillars,
            where.next_year_statuses,
        )
    )


def search_results(
    db: Session,
    searcher: Searcher,
    query: str,
    where: MeasureFilter | None,
    order: SearchOrder,
    *,
    offset: int,
    limit: int,
    timeout: float | None = None,
    digests_at: tuple[int, ...] = (),
    exact_only: bool = False,
) -> Results:
    """The measures that match ``query`` and ``where``, ``limit`` of them from ``offset`` in
    ``order``; raises as ``Searcher.search`` does (``archive/errors.py``). ``timeout``
    (seconds) shortens the search's own limit to what remains of the request's time."""
    measure_ids = None
    if where is not None and _needs_store(where):
        measure_ids = frozenset(queries.measure_ids(db, archive_filter(where)))
    options = SearchOptions(
        fiscal_years=where.fiscal_years if where else None,
        departments=where.departments if where else None,
        kinds=("measure",),
        sort=order.value,
        offset=offset,
        limit=limit,
        measure_ids=measure_ids,
        timeout=SEARCH_TIMEOUT if timeout is None else min(SEARCH_TIMEOUT, timeout),
        digests_at=digests_at,
        exact_only=exact_only,
    )
    return searcher.search(query, options)
