"""The root Query type and the schema with its extensions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry import relay
from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)

from archive import compare, municipalities, queries
from index.search import chain_keys, highlight
from schema.changes import ChangeConnection, change_feed
from schema.connections import (
    DepartmentConnection,
    DocumentConnection,
    archive_filter,
    department_connection,
    document_connection,
    measure_connection,
    search_results,
)
from schema.context import CloseContext
from schema.errors import BAD_USER_INPUT, CURSOR_EXPIRED, PublicError, PublicErrors
from schema.ids import parse_global_id
from schema.inputs import TEXT_REFUSED, TextArguments, lone_surrogate_at
from schema.limiter import QueryLimiter
from schema.limits import Limits
from schema.mutations import Mutation
from schema.pagination import PageInfo, decode_cursor, encode_cursor, page_request
from schema.types import (
    Department,
    Document,
    FacetCount,
    FiscalYear,
    Highlight,
    Info,
    Measure,
    MeasureComparison,
    MeasureConnection,
    MeasureFilter,
    MeasureOrder,
    Municipality,
    SearchConnection,
    SearchEdge,
    SearchFacets,
    SearchOrder,
    node_types,
)


def _search_cursor_kind(query: str, where: MeasureFilter | None, order: SearchOrder) -> str:
    fields = strawberry.asdict(where) if where is not None else None
    digest = hashlib.sha256(
        json.dumps([query, fields, order.value], ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()[:16]
    return f"search-{digest}"


@dataclass(frozen=True)
class _SearchWindow:
    """The hits a search page shows: ``limit`` from ``offset``, within the range from
    ``start`` (after ``after``'s hit) to ``stop`` (``before``'s hit, excluded; None: the
    end); ``backward`` for a page of the range's last hits (``last``)."""

    offset: int
    limit: int
    backward: bool
    start: int
    stop: int | None

    def has_next_page(self, total: int) -> bool:
        if self.backward:  # before's own hit follows (the spec's "may", known exactly here)
            return self.stop is not None and self.stop < total
        end = total if self.stop is None else min(self.stop, total)
        return self.offset + self.limit < end

    def has_previous_page(self) -> bool:
        return self.offset > self.start if self.backward else self.offset > 0


def _search_window(
    first: int | None, last: int | None, start: int, stop: int | None, largest: int
) -> _SearchWindow:
    """The page of a search that ``first``/``last`` ask for between the offsets ``start``
    and ``stop`` (from ``after`` and ``before``), by the Relay spec as the other connections
    (``schema/pagination.py``): ``first`` and ``last`` together are refused, and so is
    ``last`` without ``before`` (its page would need the hits' total before the search)."""
    request = page_request(first, last, largest)
    if request.backward:
        if stop is None:
            raise PublicError(
                "search pages backward from a cursor: give before with last", BAD_USER_INPUT
            )
        offset = max(start, stop - request.limit)
        return _SearchWindow(offset, max(0, stop - offset), True, start, stop)
    limit = request.limit if stop is None else max(0, min(request.limit, stop - start))
    return _SearchWindow(start, limit, False, start, stop)


def _search_cursor(kind: str, cursor: str, name: str) -> tuple[int, str]:
    """The position a search cursor names and the digest of the hits up to it."""
    position, digest = decode_cursor(kind, cursor, (int, str), name)
    if position < 0:
        raise PublicError(f"{name} is not a valid cursor for this list", BAD_USER_INPUT)
    return int(position), str(digest)


def _measure_id(value: str) -> int:
    """The database id in a Measure's global ID; anything else is BAD_USER_INPUT."""
    found = parse_global_id(value)
    if found is None or found.type_name != "Measure":
        raise PublicError("measure must be a Measure's id", BAD_USER_INPUT)
    return found.number


_NODE_TYPES: dict[str, Any] = {}  # GraphQL type name -> class, filled by build_schema


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global ID; null when there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        global_id = parse_global_id(id)  # a malformed ID names nothing, as a missing row
        node_type = _NODE_TYPES.get(global_id.type_name) if global_id is not None else None
        if global_id is None or node_type is None:
            return None
        nodes = await node_type.resolve_nodes(info=info, node_ids=[str(global_id.number)])
        found: relay.Node | None = nodes[0]
        return found

    @strawberry.field(
        description="The objects these global IDs name, in their order: null for an ID that "
        "names nothing. At most the largest page size (PLAN_ARCHIVE_MAX_PAGE_SIZE) IDs."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        largest = info.context.limits.max_page_size
        if len(ids) > largest:
            raise PublicError(f"ids holds at most {largest} IDs", BAD_USER_INPUT)
        named: list[tuple[Any, str] | None] = []
        for given in ids:
            global_id = parse_global_id(given)  # a malformed ID names nothing, as in node
            node_type = _NODE_TYPES.get(global_id.type_name) if global_id is not None else None
            if global_id is None or node_type is None:
                named.append(None)
            else:
                named.append((node_type, str(global_id.number)))
        found: dict[tuple[Any, str], relay.Node | None] = {}
        for node_type in dict.fromkeys(item[0] for item in named if item is not None):
            numbers = list(dict.fromkeys(n for t, n in filter(None, named) if t is node_type))
            nodes = await node_type.resolve_nodes(info=info, node_ids=numbers)
            found.update(zip(((node_type, n) for n in numbers), nodes, strict=True))
        return [None if item is None else found[item] for item in named]

    @strawberry.field(description="Fiscal years with archived reports, ascending.")
    def fiscal_years(self, info: Info) -> list[FiscalYear]:
        return [
            FiscalYear.from_row(row.year, row.measure_count)
            for row in queries.list_fiscal_years(info.context.db)
        ]

    @strawberry.field(
        description="The local governments of the official list in `prefecture` (the "
        "prefecture itself included), by code; only those of `kinds` (prefecture, city, "
        "designated_city, designated_ward, special_ward, town, village) when given. Empty for "
        "a name that is no prefecture."
    )
    def municipalities(self, prefecture: str, kinds: list[str] | None = None) -> list[Municipality]:
        return [
            Municipality.from_entry(entry)
            for entry in municipalities.all_municipalities()
            if entry.prefecture == prefecture and (kinds is None or entry.kind in kinds)
        ]

    @strawberry.field(
        description="Every department, sorted by name.",
        deprecation_reason="Use departmentsConnection: this list grows with the archive "
        "and comes whole; the connection pages it.",
    )
    def departments(self, info: Info) -> list[Department]:
        return [Department.from_row(row) for row in queries.list_departments(info.context.db)]

    @strawberry.field(
        description="The change feed: reports stored, replaced and deleted, with the measures "
        "each added, updated and removed, oldest first in commit order. Keep the last "
        "`endCursor` and ask again with `after`: an empty page means nothing new (keep the "
        "cursor you had). `first` is 1 to 100; `last` gives the newest changes."
    )
    def changes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ChangeConnection:
        return change_feed(info, first, after, last, before)

    @strawberry.field(
        description="Every ingested document, by fiscal year.",
        deprecation_reason="Use documentsConnection: this list grows with the archive "
        "and comes whole; the connection pages it.",
    )
    def documents(self, info: Info) -> list[Document]:
        return [Document.from_row(row) for row in queries.list_documents(info.context.db)]

    @strawberry.field(
        description="Every ingested document as a connection, by fiscal year, municipality "
        "and id; `first` or `last` is 1 to 100 (not both)."
    )
    def documents_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> DocumentConnection:
        return document_connection(info, first, after, last, before)

    @strawberry.field(
        description="Every department as a connection, by name; `first` or `last` is 1 to "
        "100 (not both)."
    )
    def departments_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> DepartmentConnection:
        return department_connection(info, first, after, last, before)

    @strawberry.field(
        description="What changed in a measure between its year and `fiscalYear`, earlier "
        "year first; null when its history has no measure in that year."
    )
    def compare(
        self, info: Info, measure: strawberry.ID, fiscal_year: int
    ) -> MeasureComparison | None:
        measure_id = _measure_id(measure)
        found = compare.compare(info.context.db, measure_id, fiscal_year)
        return MeasureComparison.from_comparison(found) if found else None

    @strawberry.field(
        description="Measures by fiscal year, municipality and number; `first` or `last` "
        "is 1 to 100 (not both)."
    )
    def measures(
        self,
        info: Info,
        filter: MeasureFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: MeasureOrder = MeasureOrder.FISCAL_YEAR_ASC,
        last: int | None = None,
        before: str | None = None,
    ) -> MeasureConnection:
        return measure_connection(
            info, archive_filter(filter), first, after, order_by, last=last, before=before
        )

    @strawberry.field(
        description="Full-text search over measures in every year: exact matches, ranked, with "
        "highlights and facets. The query syntax is in the README."
    )
    def search(
        self,
        info: Info,
        query: str,
        filter: MeasureFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: SearchOrder = SearchOrder.RELEVANCE,
        last: int | None = None,
        before: str | None = None,
    ) -> SearchConnection:
        searcher = info.context.searcher
        # A cursor belongs to one list (this query, filter and order) and names a position
        # with a digest of the hits up to it: it holds in a later state of the index as long
        # as those hits are the same, so an ingest elsewhere does not void it.
        kind = _search_cursor_kind(query, filter, order_by)
        # position -> the digest its cursor holds, checked against the hits of today's index
        expected: dict[int, str] = {}
        start, stop = 0, None
        if after is not None:
            position, expected[position] = _search_cursor(kind, after, "after")
            start = position + 1
        if before is not None:
            stop, expected[stop] = _search_cursor(kind, before, "before")
        window = _search_window(first, last, start, stop, info.context.limits.max_page_size)
        offset, limit = window.offset, window.limit
        results = search_results(
            info.context.db,
            searcher,
            query,
            filter,
            order_by,
            offset=offset,
            limit=limit,
            timeout=info.context.remaining(),
            digests_at=tuple(sorted({*expected, *([offset - 1] if offset else [])})),
        )
        if any(results.digests.get(at) != digest for at, digest in expected.items()):
            raise PublicError(
                "the results up to this cursor changed since it was made (a report was "
                "replaced or deleted); run the search again",
                CURSOR_EXPIRED,
            )
        db = info.context.db
        rows = queries.search_rows(db, [hit.measure_id or 0 for hit in results.hits])
        edges = []
        digest = results.digests.get(offset - 1, "")
        for position, (hit, row) in enumerate(zip(results.hits, rows, strict=True)):
            digest = chain_keys(digest, (hit.key,))
            if row is None:
                continue  # deleted from the store after the index was read
            node = Measure.from_row(row.measure, row.measure)
            node.department_rows = row.departments
            edges.append(
                SearchEdge(
                    cursor=encode_cursor(kind, (offset + position, digest)),
                    score=hit.score,
                    node=node,
                    highlights=[
                        Highlight(field=h.field, fragments=h.fragments)
                        for h in highlight(row.fields, hit.matched)
                    ],
                )
            )
        return SearchConnection(
            total_count=results.total,
            edges=edges,
            page_info=PageInfo(
                has_next_page=window.has_next_page(results.total),
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=window.has_previous_page(),
                start_cursor=edges[0].cursor if edges else None,
            ),
            facets=SearchFacets(
                fiscal_years=[
                    FacetCount(value=f.value, count=f.count) for f in results.fiscal_years
                ],
                departments=[FacetCount(value=f.value, count=f.count) for f in results.departments],
            ),
        )


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Give every error a code. Log nothing here: ``PublicErrors`` logs unexpected errors
        with their traceback, and client mistakes (bad input, invalid queries) are not server
        problems."""
        for error in errors:
            if not (error.extensions or {}).get("code"):
                code = (
                    "GRAPHQL_PARSE_FAILED"
                    if isinstance(error, GraphQLSyntaxError)
                    else "GRAPHQL_VALIDATION_FAILED"
                )
                if isinstance(error, GraphQLSyntaxError) and lone_surrogate_at(error):
                    error.message, code = TEXT_REFUSED, BAD_USER_INPUT  # as in a variable
                error.extensions = {**(error.extensions or {}), "code": code}


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema, with the request limits as per-request extension factories."""
    limits = limits or Limits()
    _NODE_TYPES.update({t.__name__: t for t in node_types()})
    return Schema(
        query=Query,
        mutation=Mutation,
        types=node_types(),
        extensions=[
            CloseContext,
            PublicErrors,
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            # Before ValidationCache: its on_validate hook must run first (schema/limiter.py).
            lambda: QueryLimiter(limits),
            # A portal sends the same few documents over and over: parse and validate each once.
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            TextArguments,
        ],
    )
