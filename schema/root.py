"""The root Query type and the schema with its extensions."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import relay

from archive import queries
from schema.context import CloseContext
from schema.errors import PublicErrors
from schema.pagination import PageInfo, decode_cursor, encode_cursor, page_size
from schema.types import (
    Department,
    Document,
    FiscalYear,
    Info,
    Measure,
    MeasureConnection,
    MeasureEdge,
    MeasureFilter,
)

_MEASURE_CURSOR = "measure"
_MEASURE_KEY = (int, str, str, int)


def _archive_filter(where: MeasureFilter | None) -> queries.MeasureFilter:
    if where is None:
        return queries.MeasureFilter()
    return queries.MeasureFilter(fiscal_years=where.fiscal_years, departments=where.departments)


@strawberry.type
class Query:
    node: relay.Node | None = relay.node()

    @strawberry.field(description="Fiscal years with archived reports, ascending.")
    def fiscal_years(self, info: Info) -> list[FiscalYear]:
        return [
            FiscalYear.from_row(row.year, row.measure_count)
            for row in queries.list_fiscal_years(info.context.db)
        ]

    @strawberry.field(description="Every department, sorted by name.")
    def departments(self, info: Info) -> list[Department]:
        return [Department.from_row(row) for row in queries.list_departments(info.context.db)]

    @strawberry.field(description="Every ingested document, by fiscal year.")
    def documents(self, info: Info) -> list[Document]:
        return [Document.from_row(row) for row in queries.list_documents(info.context.db)]

    @strawberry.field(
        description="Measures by fiscal year, municipality and number; `first` is 1 to 100."
    )
    def measures(
        self,
        info: Info,
        filter: MeasureFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> MeasureConnection:
        limit = page_size(first)
        where = _archive_filter(filter)
        key = decode_cursor(_MEASURE_CURSOR, after, _MEASURE_KEY) if after else None
        db = info.context.db
        rows = queries.list_measures(db, where, after=key, limit=limit + 1)
        edges = [
            MeasureEdge(
                cursor=encode_cursor(_MEASURE_CURSOR, queries.measure_key(measure, document)),
                node=Measure.from_row(measure, document),
            )
            for measure, document in rows[:limit]
        ]
        return MeasureConnection(
            total_count=queries.count_measures(db, where),
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log nothing here: ``PublicErrors`` logs unexpected errors with their traceback, and
        client mistakes (bad input, invalid queries) are not server problems."""


@functools.cache
def build_schema() -> strawberry.Schema:
    """The schema, built once per process: Strawberry's ``relay.node()`` field cannot be
    converted twice, and the schema holds no per-request state."""
    return Schema(query=Query, extensions=[CloseContext, PublicErrors])
