"""GraphQL object types: ``from_row`` copies plain fields; related data comes from loaders."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay

from archive import models
from archive.eras import western_to_era_label
from schema.context import Context
from schema.pagination import PageInfo

Info = strawberry.Info[Context, None]


def _int_ids(node_ids: Iterable[str]) -> list[int]:
    return [int(i) if str(i).isdigit() else -1 for i in node_ids]


@strawberry.type(description="A municipality's plan report for one fiscal year.")
class Document(relay.Node):
    id: relay.NodeID[int]
    municipality: str
    fiscal_year: int = strawberry.field(description="Western year, e.g. 2020 for 令和2年度.")
    title: str

    @classmethod
    def from_row(cls, row: models.Document) -> Document:
        return cls(
            id=row.id, municipality=row.municipality, fiscal_year=row.fiscal_year, title=row.title
        )

    @strawberry.field(description="How many measures were read from the report.")
    async def measure_count(self, info: Info) -> int:
        return await info.context.loaders.measure_count_by_document.load(self.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Document | None]:
        rows = await info.context.loaders.document.load_many(_int_ids(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A responsible department (担当部課所).")
class Department(relay.Node):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_row(cls, row: models.Department) -> Department:
        return cls(id=row.id, name=row.name)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Department | None]:
        rows = await info.context.loaders.department.load_many(_int_ids(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A measure (推進事項) as reported in one fiscal year.")
class Measure(relay.Node):
    id: relay.NodeID[int]
    fiscal_year: int = strawberry.field(description="Western year of the report.")
    number: str = strawberry.field(description='As printed, zero-padded: "01".')
    title: str = strawberry.field(description="推進事項.")
    description: str = strawberry.field(description="事業内容, wrapped lines rejoined.")
    achievement: str = strawberry.field(description="達成状況, wrapped lines rejoined.")
    document_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, measure: models.Measure, document: models.Document) -> Measure:
        return cls(
            id=measure.id,
            fiscal_year=document.fiscal_year,
            number=measure.number,
            title=measure.title,
            description=measure.description,
            achievement=measure.achievement,
            document_id=measure.document_id,
        )

    @strawberry.field(description="担当部課所, one per department, in printed order.")
    async def departments(self, info: Info) -> list[Department]:
        rows = await info.context.loaders.departments_by_measure.load(self.id)
        return [Department.from_row(row) for row in rows]

    @strawberry.field(description="The report this measure was read from.")
    async def document(self, info: Info) -> Document:
        row = await info.context.loaders.document.load(self.document_id)
        assert row is not None  # a measure cannot outlive its document (foreign key)
        return Document.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Measure | None]:
        rows = await info.context.loaders.measure.load_many(_int_ids(node_ids))
        return [cls.from_row(*row) if row else None for row in rows]


@strawberry.type(description="A fiscal year with archived reports.")
class FiscalYear:
    year: int
    label: str = strawberry.field(description='e.g. "令和2年度".')
    measure_count: int

    @classmethod
    def from_row(cls, year: int, measure_count: int) -> FiscalYear:
        return cls(year=year, label=western_to_era_label(year), measure_count=measure_count)


@strawberry.type
class MeasureEdge:
    cursor: str
    node: Measure


@strawberry.type
class MeasureConnection:
    total_count: int
    edges: list[MeasureEdge]
    page_info: PageInfo


@strawberry.input(description="Every given condition must hold.")
class MeasureFilter:
    fiscal_years: list[int] | None = None
    departments: list[str] | None = strawberry.field(
        default=None, description="Exact department names."
    )


def node_types() -> list[Any]:
    return [Document, Department, Measure]


@strawberry.type(description="Matched text of one field, the matches in <mark>…</mark>.")
class Highlight:
    field: str
    fragments: list[str]


@strawberry.type
class SearchEdge:
    cursor: str
    score: float
    node: Measure
    highlights: list[Highlight]


@strawberry.type
class FacetCount:
    value: str
    count: int


@strawberry.type(description="Counts over the whole result, not only the page.")
class SearchFacets:
    fiscal_years: list[FacetCount]
    departments: list[FacetCount]


@strawberry.type
class SearchConnection:
    total_count: int
    edges: list[SearchEdge]
    page_info: PageInfo
    facets: SearchFacets


@strawberry.enum(description="Order of search hits.")
class SearchOrder(enum.Enum):
    RELEVANCE = "relevance"
    FISCAL_YEAR_ASC = "fiscalYear"
    FISCAL_YEAR_DESC = "-fiscalYear"
