"""GraphQL object types: ``from_row`` copies plain fields; related data comes from loaders."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry import relay

from archive import compare, indicators, models, municipalities, queries
from archive.eras import western_to_era_label
from archive.municipalities import by_code
from schema.choices import SearchOrder as SearchOrder
from schema.context import Info
from schema.errors import BAD_USER_INPUT, PublicError
from schema.ids import database_ids
from schema.measure_pages import MeasurePage, measure_page
from schema.pagination import PageInfo
from schema.similar import alike, check_first


@strawberry.enum(description="Order of a measure list.")
class MeasureOrder(enum.Enum):
    FISCAL_YEAR_ASC = "asc"  # then municipality and number
    FISCAL_YEAR_DESC = "desc"


@strawberry.type(description="A local government of the official list.")
class Municipality:
    code: str = strawberry.field(description="6-digit local government code, e.g. 082023.")
    name: str = strawberry.field(description="Official name; a designated city's ward with it.")
    prefecture: str
    kana: str
    kind: str = strawberry.field(
        description="prefecture, city, designated_city, designated_ward, special_ward, town"
        " or village."
    )

    @classmethod
    def from_entry(cls, entry: municipalities.Municipality) -> Municipality:
        return cls(
            code=entry.code,
            name=entry.name,
            prefecture=entry.prefecture,
            kana=entry.kana,
            kind=entry.kind,
        )


@strawberry.type(description="A municipality's plan report for one fiscal year.")
class Document(relay.Node):
    id: relay.NodeID[int]
    municipality: str
    fiscal_year: int = strawberry.field(description="Western year, e.g. 2020 for 令和2年度.")
    title: str
    source_name: str = strawberry.field(description="The file name it was ingested from.")
    sha256: str
    ingested_at: datetime = strawberry.field(
        description="When it was stored: ISO 8601 in UTC, with its offset (+00:00)."
    )
    layout: str | None = strawberry.field(
        default=None,
        description="The layout profile that read its measures (hitachi, evaluation-sheet, "
        "progress-list); null when none found any.",
    )
    municipality_code: str | None = strawberry.field(
        default=None,
        description="6-digit local government code from the official list; null for a report"
        " stored before codes were kept whose name is a homonym or not in the list.",
    )
    prefecture: str | None = strawberry.field(
        default=None, description="Its prefecture (a prefecture's own report: itself)."
    )
    # Set for a document just deleted: its count, as its measures can no longer be counted.
    counted_measures: strawberry.Private[int | None] = None

    @strawberry.field(
        description="The municipality as the official list has it; null when it has no code."
    )
    def municipality_info(self) -> Municipality | None:
        found = by_code(self.municipality_code) if self.municipality_code else None
        return Municipality.from_entry(found) if found else None

    @classmethod
    def from_row(cls, row: models.Document) -> Document:
        return cls(
            id=row.id,
            municipality=row.municipality,
            municipality_code=row.municipality_code,
            prefecture=row.prefecture,
            fiscal_year=row.fiscal_year,
            title=row.title,
            source_name=row.source_name,
            sha256=row.sha256,
            layout=row.layout,
            # SQLite gives the stored UTC time back without its zone; PostgreSQL with it.
            ingested_at=row.ingested_at.replace(tzinfo=UTC)
            if row.ingested_at.tzinfo is None
            else row.ingested_at.astimezone(UTC),
        )

    @strawberry.field(description="The text as decoded, every character kept.")
    async def raw_text(self, info: Info) -> str:
        texts = await info.context.loaders.document_texts.load(self.id)
        return texts.raw_text if texts else ""

    @strawberry.field(description="Wrapped lines rejoined, page numbers dropped.")
    async def text(self, info: Info) -> str:
        texts = await info.context.loaders.document_texts.load(self.id)
        return texts.text if texts else ""

    @strawberry.field(
        description="Its measures, by number; `first` or `last` is 1 to 100 (not both)."
    )
    def measures(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MeasureConnection:
        where = queries.MeasureFilter(document_ids=[self.id])
        return MeasureConnection.from_page(
            measure_page(info, where, first, after, False, last=last, before=before)
        )

    @strawberry.field(description="Its pillars (体系), by number.")
    async def pillars(self, info: Info) -> list[Pillar]:
        rows = await info.context.loaders.pillars_by_document.load(self.id)
        return [Pillar.from_row(row, self.fiscal_year) for row in rows]

    @strawberry.field(description="How many measures were read from the report.")
    async def measure_count(self, info: Info) -> int:
        if self.counted_measures is not None:
            return self.counted_measures
        return await info.context.loaders.measure_count_by_document.load(self.id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Document | None]:
        rows = await info.context.loaders.document.load_many(database_ids(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A responsible department (担当部課所).")
class Department(relay.Node):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_row(cls, row: models.Department | queries.DepartmentRow) -> Department:
        return cls(id=row.id, name=row.name)

    @strawberry.field(
        description="Its measures in every year; `first` or `last` is 1 to 100 (not both)."
    )
    def measures(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_by: MeasureOrder = MeasureOrder.FISCAL_YEAR_ASC,
        last: int | None = None,
        before: str | None = None,
    ) -> MeasureConnection:
        where = queries.MeasureFilter(departments=[self.name])
        descending = order_by is MeasureOrder.FISCAL_YEAR_DESC
        return MeasureConnection.from_page(
            measure_page(info, where, first, after, descending, last=last, before=before)
        )

    @strawberry.field(
        description="The years it appears in, ascending, with its measures each year; "
        "years under a former name (a curator's declared rename) included."
    )
    async def years(self, info: Info) -> list[DepartmentYear]:
        found = await info.context.loaders.department_years.load(self.name)
        return [
            DepartmentYear(
                fiscal_year=y.fiscal_year,
                name=y.name,
                measure_count=len(y.measures),
                measures=[Measure.from_row(*row) for row in y.measures],
            )
            for y in found
        ]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Department | None]:
        rows = await info.context.loaders.department.load_many(database_ids(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A department in one fiscal year.")
class DepartmentYear:
    fiscal_year: int
    name: str = strawberry.field(description="As printed that year (a former name, maybe).")
    measure_count: int
    measures: list[Measure]


@strawberry.type(description="A department renamed between two years, as a curator declared.")
class DepartmentRenamed:
    before: str
    after: str


@strawberry.type(description="A pillar (体系) of one report: a group of measures.")
class Pillar(relay.Node):
    id: relay.NodeID[int]
    number: int
    title: str
    fiscal_year: int
    document_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Pillar, fiscal_year: int) -> Pillar:
        return cls(
            id=row.id,
            number=row.number,
            title=row.title,
            fiscal_year=fiscal_year,
            document_id=row.document_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Pillar | None]:
        rows = await info.context.loaders.pillar.load_many(database_ids(node_ids))
        documents = await info.context.loaders.document.load_many(
            [row.document_id if row else 0 for row in rows]
        )
        return [
            cls.from_row(row, document.fiscal_year) if row and document else None
            for row, document in zip(rows, documents, strict=True)
        ]


@strawberry.enum(
    description="The status a next-year tag prints, its term first: [R3継続] is CONTINUED."
)
class CarryOverStatus(enum.Enum):
    CONTINUED = strawberry.enum_value("継続", description="継続: continued next year.")
    COMPLETED = strawberry.enum_value("完了", description="完了: completed.")
    NEW = strawberry.enum_value("新規", description="新規: new.")
    ABOLISHED = strawberry.enum_value("廃止", description="廃止: abolished.")
    ENDED = strawberry.enum_value("終了", description="終了: ended.")
    MERGED = strawberry.enum_value("統合", description="統合: merged into another measure.")
    EXPANDED = strawberry.enum_value("拡充", description="拡充: expanded.")
    OTHER = strawberry.enum_value(
        "",
        description="A status this server does not know, stored by another version of it; "
        "`tag` has it as printed.",
    )


@strawberry.type(description="What the report says happens next year: [R3継続] is 継続 in 2021.")
class CarryOver:
    tag: str = strawberry.field(description="As printed, e.g. [R3継続].")
    status: str = strawberry.field(
        description="継続, 完了, 新規, 廃止, 終了, 統合 or 拡充, as printed.",
        deprecation_reason="Use `statusCode`, an enum.",
    )
    fiscal_year: int | None = strawberry.field(description="The year the tag names, if any.")

    @strawberry.field(description="The status printed: CONTINUED for [R3継続].")
    def status_code(self) -> CarryOverStatus:
        try:
            return CarryOverStatus(self.status)
        except ValueError:
            return CarryOverStatus.OTHER


@strawberry.type(description="A figure read from 達成状況: 約 53万人 is 530000 人, approximate.")
class Indicator:
    label: str | None = strawberry.field(
        description='What is counted, e.g. "投稿総数"; null when the text names nothing.'
    )
    value: float = strawberry.field(description="約53万人 → 530000; 1/2程度 → 0.5.")
    unit: str = strawberry.field(description="件, 人, 回, 枚, 校, %, …; empty for a ratio.")
    approximate: bool = strawberry.field(description="約 before it, or 程度 / 前後 after it.")
    comparison: str | None = strawberry.field(description="程度, 以上, 以下, 未満, …")
    text: str = strawberry.field(description="The span it was read from, as printed.")
    start: int = strawberry.field(description="Offset of the span in achievement.")
    end: int
    fiscal_year: int

    @classmethod
    def from_figure(cls, figure: indicators.Indicator, fiscal_year: int) -> Indicator:
        return cls(
            label=figure.label,
            value=figure.value,
            unit=figure.unit,
            approximate=figure.approximate,
            comparison=figure.comparison,
            text=figure.text,
            start=figure.start,
            end=figure.end,
            fiscal_year=fiscal_year,
        )


@strawberry.enum(description="A field of a measure, as search highlights and provenance name it.")
class MeasureField(enum.Enum):
    NUMBER = strawberry.enum_value(
        "number",
        description="The measure's number as printed: `Measure.number`. In provenance only.",
    )
    TITLE = strawberry.enum_value("title", description="推進事項: `Measure.title`.")
    DEPARTMENTS = strawberry.enum_value(
        "departments", description="担当部課所: `Measure.departments`."
    )
    DESCRIPTION = strawberry.enum_value(
        "description", description="事業内容: `Measure.description`."
    )
    ACHIEVEMENT = strawberry.enum_value(
        "achievement", description="達成状況: `Measure.achievement`."
    )
    PILLAR = strawberry.enum_value(
        "pillar",
        description="体系, the pillar's title: `Measure.pillar`. In highlights, and in a "
        "spreadsheet's provenance.",
    )
    CARRY_OVER = strawberry.enum_value(
        "carry_over",
        description="The next-year tag, [R3継続]: `Measure.carryOver`. In provenance, and in "
        "highlights when a search matched the tag (a tag-like term or `tag:`).",
    )
    GRADE = strawberry.enum_value(
        "grade",
        description="The grade (評価) as printed, S/A/B/C or ○△×: `Measure.grade`. In "
        "provenance, and in highlights when a search matched it (`grade:`).",
    )


@strawberry.type(
    description="Where one field of a measure was read: lines of the document's raw text, "
    "and for a PDF its pages (1-based)."
)
class SourceSpan:
    field: str = strawberry.field(
        description="title, departments, description, achievement or carry_over.",
        deprecation_reason="Use `measureField`, an enum.",
    )
    first_line: int
    last_line: int
    first_page: int | None = strawberry.field(description="Null when the document was text.")
    last_page: int | None = strawberry.field(description="Null when the document was text.")

    @strawberry.field(
        description="The field read: NUMBER, TITLE, DEPARTMENTS, DESCRIPTION, ACHIEVEMENT, "
        "PILLAR, CARRY_OVER or GRADE."
    )
    def measure_field(self) -> MeasureField:
        return MeasureField(self.field)

    @classmethod
    def from_provenance(cls, provenance: dict[str, list[int]]) -> list[SourceSpan]:
        spans = []
        for name, span in provenance.items():
            first_page, last_page = (span[2], span[3]) if len(span) == 4 else (None, None)
            spans.append(
                cls(
                    field=name,
                    first_line=span[0],
                    last_line=span[1],
                    first_page=first_page,
                    last_page=last_page,
                )
            )
        return sorted(spans, key=lambda s: (s.first_line, s.field))


@strawberry.type(description="A measure (推進事項) as reported in one fiscal year.")
class Measure(relay.Node):
    id: relay.NodeID[int]
    fiscal_year: int = strawberry.field(description="Western year of the report.")
    number: str = strawberry.field(description='As printed, zero-padded: "01".')
    title: str = strawberry.field(description="推進事項.")
    description: str = strawberry.field(description="事業内容, wrapped lines rejoined.")
    achievement: str = strawberry.field(description="達成状況, wrapped lines rejoined.")
    municipality: str
    departments_others: bool = strawberry.field(
        description="The department list ended in 外 (and others)."
    )
    carry_over: CarryOver | None = strawberry.field(
        description="The next-year tag; null when the report printed none (unknown, not ended)."
    )
    grade: str | None = strawberry.field(
        description="The evaluation the report prints (S/A/B/C, ○/△/×, 達成…), spelled as its "
        "layout's value set (Ａ -> A, 〇 -> ○); null when it prints none."
    )
    document_id: strawberry.Private[int]
    pillar_id: strawberry.Private[int | None]
    sources: strawberry.Private[dict[str, list[int]]]

    # The page's departments when its list read them with it (schema/measure_pages.py), so that
    # ``departments`` answers at once instead of waiting on a loader for each measure.
    department_rows: strawberry.Private[list[queries.DepartmentRow] | None] = None

    @classmethod
    def from_row(
        cls,
        measure: models.Measure | queries.MeasureRow,
        document: models.Document | queries.MeasureRow,
    ) -> Measure:
        """From a measure and its document; a MeasureRow holds both (``from_row(row, row)``)."""
        carry_over = None
        if measure.carry_over_tag and measure.carry_over_status:
            carry_over = CarryOver(
                tag=measure.carry_over_tag,
                status=measure.carry_over_status,
                fiscal_year=measure.carry_over_year,
            )
        return cls(
            id=measure.id,
            fiscal_year=document.fiscal_year,
            number=measure.number,
            title=measure.title,
            description=measure.description,
            achievement=measure.achievement,
            municipality=document.municipality,
            departments_others=measure.departments_others,
            carry_over=carry_over,
            grade=measure.grade,
            document_id=measure.document_id,
            pillar_id=measure.pillar_id,
            sources=measure.provenance,
        )

    @strawberry.field(description="Where each field was read, with page numbers for a PDF.")
    def provenance(self) -> list[SourceSpan]:
        return SourceSpan.from_provenance(self.sources)

    @strawberry.field(description="Its pillar (体系), if the report groups measures in pillars.")
    async def pillar(self, info: Info) -> Pillar | None:
        if self.pillar_id is None:
            return None
        row = await info.context.loaders.pillar.load(self.pillar_id)
        return Pillar.from_row(row, self.fiscal_year) if row else None

    @strawberry.field(
        description="The same measure in every ingested year, ascending, itself included. "
        "Linked within a municipality by title, or by number with a similar title."
    )
    async def history(self, info: Info) -> list[Measure]:
        rows = await info.context.loaders.history.load(self.id)
        return [Measure.from_row(measure, document) for measure, document in rows]

    @strawberry.field(
        description="The measures of other municipalities or other years most alike this one "
        "(key terms, then the cosine of TF-IDF term vectors), best first; never itself, its "
        "history, nor its own report's other measures. `first` is 1 to 20."
    )
    async def similar(self, info: Info, first: int | None = 5) -> list[SimilarMeasure]:
        first = check_first(first)
        history = await info.context.loaders.history.load(self.id)
        found = alike(
            info.context.searcher,
            self.id,
            {measure.id for measure, _ in history},
            first,
            info.context.remaining(),
        )
        rows = await info.context.loaders.measure.load_many([a.measure_id for a in found])
        return [
            SimilarMeasure(score=a.score, measure=Measure.from_row(*row))
            for a, row in zip(found, rows, strict=True)
            if row is not None  # deleted from the store after the index was read
        ]

    @strawberry.field(description="Figures read from 達成状況, in printed order.")
    def indicators(self) -> list[Indicator]:
        return [
            Indicator.from_figure(f, self.fiscal_year) for f in indicators.extract(self.achievement)
        ]

    @strawberry.field(
        description="One figure over the years: this measure's history, each year's figures "
        "with this label and/or unit (at least one must be given), ascending."
    )
    async def indicator_series(
        self, info: Info, label: str | None = None, unit: str | None = None
    ) -> list[Indicator]:
        if label is None and unit is None:
            raise PublicError("give a label, a unit or both", BAD_USER_INPUT)
        rows = await info.context.loaders.history.load(self.id)
        return [
            Indicator.from_figure(figure, document.fiscal_year)
            for measure, document in rows
            for figure in indicators.extract(measure.achievement)
            if (label is None or figure.label == label) and (unit is None or figure.unit == unit)
        ]

    @strawberry.field(
        description="Its carry-over tags checked against the neighbouring years' reports."
    )
    async def carry_over_flags(self, info: Info) -> list[CarryOverFlag]:
        flags = await info.context.loaders.carry_over_flags.load(self.id)
        return [CarryOverFlag(flag) for flag in flags]

    @strawberry.field(
        description="担当部課所, one per department, in printed order.",
        graphql_type=list[Department],
    )
    def departments(self, info: Info) -> list[Department] | Awaitable[list[Department]]:
        if self.department_rows is not None:
            return [Department.from_row(row) for row in self.department_rows]
        return self._load_departments(info)

    async def _load_departments(self, info: Info) -> list[Department]:
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
        rows = await info.context.loaders.measure.load_many(database_ids(node_ids))
        return [cls.from_row(*row) if row else None for row in rows]


@strawberry.type(description="A measure alike another (`Measure.similar`), with how alike.")
class SimilarMeasure:
    score: float = strawberry.field(
        description="0 to 1: the cosine of the two measures' TF-IDF term vectors (1: the same "
        "text; 0: no term shared)."
    )
    measure: Measure


@strawberry.enum(description="What the next report shows against a report's carry-over tags.")
class CarryOverFlag(enum.Enum):
    ANNOUNCED_BUT_MISSING = compare.ANNOUNCED_BUT_MISSING  # tagged 継続, absent next year
    CONTINUED_UNANNOUNCED = compare.CONTINUED_UNANNOUNCED  # last year's self had no 継続 tag
    NEW_UNANNOUNCED = compare.NEW_UNANNOUNCED  # not in last year's archived report


@strawberry.enum(description="What a run of a character diff is.")
class TextChangeKind(enum.Enum):
    EQUAL = strawberry.enum_value("equal", description="In both texts (変更なし).")
    DELETE = strawberry.enum_value("delete", description="In the earlier text only (削除).")
    INSERT = strawberry.enum_value("insert", description="In the later text only (追加).")


@strawberry.type(description="A run of a character diff: equal, delete or insert.")
class TextChange:
    op: str = strawberry.field(
        description="equal, delete or insert.", deprecation_reason="Use `kind`, an enum."
    )
    text: str

    @strawberry.field(description="EQUAL, DELETE or INSERT.")
    def kind(self) -> TextChangeKind:
        return TextChangeKind(self.op)


@strawberry.type(description="One figure in two years, paired by label and unit.")
class IndicatorChange:
    label: str | None
    unit: str
    before: Indicator | None
    after: Indicator | None
    delta: float | None = strawberry.field(description="after − before, when both exist.")


@strawberry.type(description="One measure in two years: what changed, earlier year first.")
class MeasureComparison:
    before: Measure
    after: Measure
    title_changed: bool
    departments_before: list[str]
    departments_after: list[str]
    departments_added: list[str]
    departments_removed: list[str]
    departments_renamed: list[DepartmentRenamed]
    next_year_status_before: str | None
    next_year_status_after: str | None
    indicators: list[IndicatorChange]
    description: list[TextChange] = strawberry.field(description="事業内容, character diff.")
    achievement: list[TextChange] = strawberry.field(description="達成状況, character diff.")

    @classmethod
    def from_comparison(cls, found: compare.Comparison) -> MeasureComparison:
        before_year, after_year = found.before[1].fiscal_year, found.after[1].fiscal_year

        def figure(value: indicators.Indicator | None, year: int) -> Indicator | None:
            return Indicator.from_figure(value, year) if value else None

        return cls(
            before=Measure.from_row(*found.before),
            after=Measure.from_row(*found.after),
            title_changed=found.title_changed,
            departments_before=found.departments_before,
            departments_after=found.departments_after,
            departments_added=found.departments_added,
            departments_removed=found.departments_removed,
            departments_renamed=[DepartmentRenamed(before=o, after=n) for o, n in found.renamed],
            next_year_status_before=found.before[0].carry_over_status,
            next_year_status_after=found.after[0].carry_over_status,
            indicators=[
                IndicatorChange(
                    label=c.label,
                    unit=c.unit,
                    before=figure(c.before, before_year),
                    after=figure(c.after, after_year),
                    delta=c.delta,
                )
                for c in found.figures
            ],
            description=[TextChange(op=c.op, text=c.text) for c in found.description],
            achievement=[TextChange(op=c.op, text=c.text) for c in found.achievement],
        )


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

    @classmethod
    def from_page(cls, page: MeasurePage) -> MeasureConnection:
        edges = [MeasureEdge(cursor=c, node=Measure.from_row(row, row)) for c, row in page.rows]
        if page.departments is not None:
            for edge, departments in zip(edges, page.departments, strict=True):
                edge.node.department_rows = departments
        return cls(total_count=page.total_count, edges=edges, page_info=page.page_info)


@strawberry.input(description="Every given condition must hold; a list means any of its values.")
class MeasureFilter:
    fiscal_years: list[int] | None = None
    departments: list[str] | None = strawberry.field(
        default=None, description="Exact department names."
    )
    fiscal_year_from: int | None = strawberry.field(default=None, description="Inclusive.")
    fiscal_year_to: int | None = strawberry.field(default=None, description="Inclusive.")
    municipalities: list[str] | None = None
    pillars: list[str] | None = strawberry.field(default=None, description="Exact pillar titles.")
    next_year_statuses: list[str] | None = strawberry.field(
        default=None, description="継続, 完了, 新規, 廃止, …"
    )
    municipality_codes: list[str] | None = strawberry.field(
        default=None, description="6-digit local government codes (082023 for 日立市)."
    )
    prefectures: list[str] | None = strawberry.field(
        default=None, description="Prefecture names as written: 茨城県, 東京都, 北海道."
    )


def node_types() -> list[Any]:
    return [Document, Department, Measure, Pillar]


@strawberry.type(description="Matched text of one field, the matches in <mark>…</mark>.")
class Highlight:
    field: str = strawberry.field(
        description="title, description, achievement, departments or pillar.",
        deprecation_reason="Use `measureField`, an enum.",
    )
    fragments: list[str]

    @strawberry.field(
        description="The field matched: TITLE, DESCRIPTION, ACHIEVEMENT, DEPARTMENTS or PILLAR; "
        "CARRY_OVER or GRADE when a search matched the measure's tag or grade (the label "
        "as printed, all of it marked)."
    )
    def measure_field(self) -> MeasureField:
        return MeasureField(self.field)


@strawberry.type
class SearchEdge:
    cursor: str
    score: float
    node: Measure
    highlights: list[Highlight]
    matched_by: MatchKind = strawberry.field(
        description="EXACT: the hit holds the query as typed; WORDS: only with a term whose "
        "words all occur apart (its highlights mark the words)."
    )


@strawberry.type
class FacetCount:
    value: str
    count: int
    exact_count: int = strawberry.field(description="Of the exact hits (`matchedBy: EXACT`).")


@strawberry.type(description="Counts over the whole result, not only the page.")
class SearchFacets:
    fiscal_years: list[FacetCount]
    departments: list[FacetCount]


@strawberry.type
class SearchConnection:
    total_count: int = strawberry.field(description="Every hit, exact or by words.")
    exact_count: int = strawberry.field(
        description="The hits that match exactly (`matchedBy: EXACT`): the count to cite."
    )
    edges: list[SearchEdge]
    page_info: PageInfo
    facets: SearchFacets


@strawberry.enum(description="How a search hit matched (#17 point 1).")
class MatchKind(enum.Enum):
    EXACT = "exact"
    WORDS = "words"


@strawberry.enum(description="What a search matches.")
class MatchMode(enum.Enum):
    ALL = "all"  # exact matches, and word matches of unquoted terms
    EXACT_ONLY = "exact_only"  # every term exactly, as if quoted


# Declared in schema.choices, which the command line reads without loading Strawberry;
# made a GraphQL enum here, in place (the same class).
strawberry.enum(SearchOrder, description="Order of search hits.")
