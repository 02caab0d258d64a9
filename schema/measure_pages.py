"""A page of a measure list: one function behind every list of measures (``Query.measures``,
``Document.measures``, ``Department.measures``), which ``MeasureConnection.from_page``
(``schema/types.py``) turns into a Relay connection.

It reads rows, not GraphQL objects, so the types can ask for their own lists without
importing the modules that import them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.types.nodes import SelectedField, Selection

from archive import queries
from schema.context import Info
from schema.pagination import PageInfo, keyset_page

_KEY = (int, str, str)


@dataclass(frozen=True)
class MeasurePage:
    rows: list[tuple[str, queries.MeasureRow]]  # each with its cursor
    # Each row's departments when the query selects them: read with the page, in one
    # statement, so that no measure waits on a loader for its own.
    departments: list[list[queries.DepartmentRow]] | None
    page_info: PageInfo
    total_count: int


def measure_page(
    info: Info,
    where: queries.MeasureFilter,
    first: int | None,
    after: str | None,
    descending: bool,
    last: int | None = None,
    before: str | None = None,
) -> MeasurePage:
    """A page of measures between the cursors ``after`` and ``before``: the first ``first``
    or the last ``last`` of them (``schema/pagination.py``); cursors carry the sort key and
    the direction, so a cursor from one order is refused by the other."""
    kind = "measure-desc" if descending else "measure-asc"
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
            descending=descending,
            backward=backward,
        ),
        lambda row: row.key,
    )
    departments = None
    # info.selected_fields is this field itself (a list of one); what it selects is below.
    if any(_selects(f.selections, ("edges", "node", "departments")) for f in info.selected_fields):
        departments = queries.departments_by_measure_ids(db, [row.id for _, row in page])
    return MeasurePage(
        rows=page,
        departments=departments,
        page_info=page_info,  # a cursor's own measure lies on its side of the page
        total_count=queries.count_measures(db, where),
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
