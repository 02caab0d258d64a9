"""The root Query type and the schema with its extensions."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry import relay
from strawberry.extensions import (
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.relay import GlobalIDValueError

from archive import compare, municipalities, queries
from index.highlights import highlight, highlight_labels
from index.search import Results
from schema.changes import ChangeConnection, change_feed
from schema.connections import (
    DepartmentConnection,
    DocumentConnection,
    archive_filter,
    department_connection,
    document_connection,
    search_results,
)
from schema.context import CloseContext, Info
from schema.document_search import (
    DocumentSearchConnection,
    DocumentSearchFilter,
    document_search_connection,
)
from schema.errors import BAD_USER_INPUT, PublicError, PublicErrors, in_japanese
from schema.highlights import html_fragments
from schema.ids import number_of, parse_global_id
from schema.inputs import TEXT_REFUSED, TextArguments, lone_surrogate_at
from schema.limiter import QueryLimiter
from schema.limits import Limits
from schema.measure_pages import measure_page
from schema.mutations import Mutation
from schema.operation_labels import LabelOperations
from schema.overview import Overview, overview
from schema.search_paging import search_cursor_kind, search_page
from schema.types import (
    Department,
    Document,
    FacetCount,
    FiscalYear,
    Highlight,
    MatchKind,
    MatchMode,
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


def _measure_id(value: str) -> int:
    """The database id in a Measure's global ID; anything else is BAD_USER_INPUT."""
    number = number_of(value, "Measure")
    if number is None:
        raise PublicError("measure must be a Measure's id", BAD_USER_INPUT)
    return number


def _named(info: Info, value: str) -> tuple[type[relay.Node], str] | None:
    """The node type and node id ``value`` names; None for a malformed ID or one whose type
    is no node type of the schema: it names nothing, as an ID of a missing row."""
    found = parse_global_id(value)
    if found is None:
        return None
    node = relay.GlobalID(found.type_name, str(found.number))
    try:
        return node.resolve_type(info), node.node_id
    except GlobalIDValueError:
        return None


async def _resolve_nodes(info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
    """The nodes ``ids`` name, in their order: one ``resolve_nodes`` call per type."""
    named = [_named(info, given) for given in ids]
    found: dict[tuple[type[relay.Node], str], relay.Node | None] = {}
    for node_type in dict.fromkeys(item[0] for item in named if item is not None):
        numbers = list(dict.fromkeys(n for t, n in filter(None, named) if t is node_type))
        nodes = node_type.resolve_nodes(info=info, node_ids=numbers)
        if inspect.isawaitable(nodes):  # ours are; Node.resolve_nodes may be either
            nodes = await nodes
        found.update(zip(((node_type, n) for n in numbers), nodes, strict=True))
    return [None if item is None else found[item] for item in named]


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global ID; null when there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return (await _resolve_nodes(info, [id]))[0]

    @strawberry.field(
        description="The objects these global IDs name, in their order: null for an ID that "
        "names nothing. At most the largest page size (PLAN_ARCHIVE_MAX_PAGE_SIZE) IDs."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        largest = info.context.limits.max_page_size
        if len(ids) > largest:
            raise PublicError(f"ids holds at most {largest} IDs", BAD_USER_INPUT)
        return await _resolve_nodes(info, ids)

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
        descending = order_by is MeasureOrder.FISCAL_YEAR_DESC
        page = measure_page(info, archive_filter(filter), first, after, descending, last, before)
        return MeasureConnection.from_page(page)

    @strawberry.field(
        description="Measures counted per fiscal year, by next-year status, by pillar and by "
        "department: of the whole archive, of those `filter` admits, or of every hit of the "
        "search `query` (with `filter`, as `search` finds them)."
    )
    def overview(
        self,
        info: Info,
        query: Annotated[
            str | None,
            strawberry.argument(
                description="A search (the syntax of `search`): count its hits. Null: count "
                "every measure the filter admits."
            ),
        ] = None,
        filter: MeasureFilter | None = None,
    ) -> Overview:
        return overview(info, query, filter)

    @strawberry.field(
        description="Full-text search over documents archived without structure (no measures "
        "read from them): their title and whole text, with the syntax, ranking and cursors of "
        "`search`. Structured reports are found through their measures, with `search`."
    )
    def search_documents(
        self,
        info: Info,
        query: str,
        filter: DocumentSearchFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: SearchOrder = SearchOrder.RELEVANCE,
        last: int | None = None,
        before: str | None = None,
    ) -> DocumentSearchConnection:
        return document_search_connection(info, query, filter, order_by, first, after, last, before)

    @strawberry.field(
        description="Full-text search over measures in every year: exact matches and, beside them, "
        "word matches (`match`), ranked, with "
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
        match: Annotated[
            MatchMode,
            strawberry.argument(
                description="ALL: exact matches, and an unquoted term of two words or more also "
                "by its words apart (exact hits first); EXACT_ONLY: every term exactly."
            ),
        ] = MatchMode.ALL,
    ) -> SearchConnection:
        # A cursor names a position with a digest of the hits up to it (schema/search_paging.py).
        exact_only = match is MatchMode.EXACT_ONLY
        order = f"{order_by.value}/exact" if exact_only else order_by.value
        kind = search_cursor_kind("search", query, filter, order)

        def run(offset: int, limit: int, digests_at: tuple[int, ...] = ()) -> Results:
            return search_results(
                info.context.db,
                info.context.searcher,
                query,
                filter,
                order_by,
                offset=offset,
                limit=limit,
                timeout=info.context.remaining(),
                digests_at=digests_at,
                exact_only=exact_only,
            )

        largest = info.context.limits.max_page_size
        paging = search_page(kind, first, after, last, before, largest, lambda: run(0, 0).total)
        results = run(paging.offset, paging.limit, paging.digests_at)
        paging.check(results)
        db = info.context.db
        rows = queries.search_rows(db, [hit.measure_id or 0 for hit in results.hits])
        edges = []
        for (hit, cursor), row in zip(paging.hits(results), rows, strict=True):
            if row is None:
                continue  # deleted from the store after the index was read
            node = Measure.from_row(row.measure, row.measure)
            node.department_rows = row.departments
            edges.append(
                SearchEdge(
                    cursor=cursor,
                    score=hit.score,
                    node=node,
                    highlights=[
                        Highlight(field=h.field, fragments=html_fragments(h))
                        for h in highlight(row.fields, hit.matched)
                        + highlight_labels(hit.labels, row.labels)
                    ],
                    matched_by=MatchKind(hit.matched_by),
                )
            )
        return SearchConnection(
            total_count=results.total,
            exact_count=results.exact_total,
            edges=edges,
            page_info=paging.page_info(results.total, [edge.cursor for edge in edges]),
            facets=SearchFacets(
                fiscal_years=[
                    FacetCount(value=f.value, count=f.count, exact_count=f.exact_count)
                    for f in results.fiscal_years
                ],
                departments=[
                    FacetCount(value=f.value, count=f.count, exact_count=f.exact_count)
                    for f in results.departments
                ],
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
            if getattr(getattr(execution_context, "context", None), "japanese", False):
                in_japanese(error)


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema, with the request limits as per-request extension factories."""
    limits = limits or Limits()
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
            LabelOperations,  # for the server's figures and access line
        ],
    )
