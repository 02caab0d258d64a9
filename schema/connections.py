"""Measure lists: one function behind every list of measures (as Relay connections), and
one behind every search (the API's and the exports')."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from sqlalchemy.orm import Session
from strawberry.types.nodes import SelectedField, Selection

from archive import queries
from index.search import (
    SEARCH_TIMEOUT,
    Results,
    Searcher,
    SearchOptions,
)
from schema.pagination import PageInfo, keyset_page
from schema.types import (
    Department,
    Document,
    Info,
    Measure,
    MeasureConnection,
    MeasureEdge,
    MeasureFilter,
    MeasureOrder,
    SearchOrder,
)

_KEY = (int, str, str)


def archive_filter(where: MeasureFilter | None, **extra: object) -> queries.MeasureFilter:
    if where is None:
        return queries.MeasureFilter(**extra)  # type: ignore[arg-type]
    return queries.MeasureFilter(
        fiscal_years=where.fiscal_years,
        fiscal_year_from=where.fiscal_year_from,
        fiscal_year_to=where.fiscal_year_to,
        departments=where.departments,
        municipalities=where.municipalities,
        pillars=where.pillars,
        next_year_statuses=where.next_year_statuses,
        municipality_codes=where.municipality_codes,
        prefectures=where.prefectures,
        **extra,  # type: ignore[arg-type]
    )


def measure_connection(
    info: Info,
    where: queries.MeasureFilter,
    first: int | None,
    after: str | None,
    order: MeasureOrder,
    last: int | None = None,
    before: str | None = None,
) -> MeasureConnection:
    """A page of measures between the cursors ``after`` and ``before``: the first ``first``
    or the last ``last`` of them (``schema/pagination.py``); cursors carry the sort key and
    the direction, so a cursor from one order is refused by the other."""
    kind = f"measure-{order.value}"
    db = info.context.db
    page, page_info = keyset_page(
        kind,
        _KEY,
        first,
        after,
        last,
        before,
        info.context.limits.max_page_size,
        lambda a, b, limit, backward: queries.measure_rows(
            db,
            where,
            after=a,
            before=b,
            limit=limit,
            descending=order is MeasureOrder.FISCAL_YEAR_DESC,
            backward=backward,
        ),
        lambda row: row.key,
    )
    nodes = [Measure.from_row(row, row) for _, row in page]
    # info.selected_fields is this field itself (a list of one); what it selects is below.
    if any(_selects(f.selections, ("edges", "node", "departments")) for f in info.selected_fields):
        # One statement for the page's departments, and no loader wait for each measure.
        found = queries.departments_by_measure_ids(db, [row.id for _, row in page])
        for node, departments in zip(nodes, found, strict=True):
            node.department_rows = departments
    return MeasureConnection(
        total_count=queries.count_measures(db, where),
        edges=[
            MeasureEdge(cursor=cursor, node=node)
            for (cursor, _), node in zip(page, nodes, strict=True)
        ],
        # A cursor's own measure lies on its side of the page.
        page_info=page_info,
    )


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


def _selects(selections: Sequence[Selection], path: tuple[str, ...]) -> bool:
    """Whether the selection holds the field ``path`` (names, fragments looked into)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name != path[0]:
                continue
            if len(path) == 1 or _selects(selection.selections, path[1:]):
                return True
        elif _selects(selection.selections, path):  # a fragment: its fields are this level's
            return True
    return False


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
