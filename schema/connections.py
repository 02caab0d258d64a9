"""Measure lists as Relay connections: one function behind every list of measures."""

from __future__ import annotations

from archive import queries
from schema.pagination import PageInfo, decode_cursor, encode_cursor, page_size
from schema.types import Info, Measure, MeasureConnection, MeasureEdge, MeasureFilter, MeasureOrder

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
        **extra,  # type: ignore[arg-type]
    )


def measure_connection(
    info: Info,
    where: queries.MeasureFilter,
    first: int | None,
    after: str | None,
    order: MeasureOrder,
) -> MeasureConnection:
    """A page of measures after the cursor ``after``; cursors carry the sort key and the
    direction, so a cursor from one order is refused by the other."""
    limit = page_size(first, info.context.limits.max_page_size)
    kind = f"measure-{order.value}"
    key = decode_cursor(kind, after, _KEY) if after else None
    db = info.context.db
    rows = queries.list_measures(
        db,
        where,
        after=key,
        limit=limit + 1,
        descending=order is MeasureOrder.FISCAL_YEAR_DESC,
    )
    edges = [
        MeasureEdge(
            cursor=encode_cursor(kind, queries.measure_key(measure, document)),
            node=Measure.from_row(measure, document),
        )
        for measure, document in rows[:limit]
    ]
    return MeasureConnection(
        total_count=queries.count_measures(db, where),
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None
        ),
    )
