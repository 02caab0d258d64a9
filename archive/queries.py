"""Reading the store: the queries behind the API and the CLI.

Every function takes the open database handle ``db`` first and never opens, commits or
closes it: the caller owns the transaction. Functions that serve a DataLoader take a list
of keys and return one result per key, in key order.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session, undefer

from archive.models import (
    ArchiveState,
    Change,
    Department,
    Document,
    IndexTask,
    Measure,
    MeasureDepartment,
    Pillar,
)
from archive.parse import department_key


@dataclass(frozen=True)
class MeasureFilter:
    """Every condition given must hold; a list means any of its values."""

    fiscal_years: Sequence[int] | None = None
    fiscal_year_from: int | None = None
    fiscal_year_to: int | None = None
    departments: Sequence[str] | None = None  # names as printed; compared by normalised key
    municipalities: Sequence[str] | None = None
    pillars: Sequence[str] | None = None  # pillar titles, exact
    next_year_statuses: Sequence[str] | None = None  # 継続, 完了, 新規, 廃止…
    document_ids: Sequence[int] | None = None
    municipality_codes: Sequence[str] | None = None  # 6-digit local government codes
    prefectures: Sequence[str] | None = None  # 東京都, 北海道…


@dataclass(frozen=True)
class FiscalYearSummary:
    year: int
    measure_count: int


# Measures are listed by fiscal year, municipality and number. That order is total (one
# document per municipality and year, one number per document), and it follows the indexes
# documents(fiscal_year, municipality) and measures(document_id, number), so a page is read
# in index order and stops at its limit instead of sorting a whole year.
MeasureKey = tuple[int, str, str]


def measure_key(measure: Measure, document: Document) -> MeasureKey:
    return (document.fiscal_year, document.municipality, measure.number)


# Statements are built once per shape (which conditions a filter gives, the order, whether
# there is a cursor) and reused with bound parameters. SQLAlchemy caches compiled SQL by shape
# anyway, but building a statement, computing its cache key and matching a new statement's
# columns to the cached ones cost more than SQLite's own work on a page of 20: 1.4 ms for a
# page built afresh and read as ORM objects, 0.37 ms for a reused statement read as columns.
_LIST_CONDITIONS = frozenset(
    {
        "fiscal_years",
        "municipalities",
        "pillars",
        "next_year_statuses",
        "document_ids",
        "municipality_codes",
        "prefectures",
    }
)


def _parameters(where: MeasureFilter) -> dict[str, Any]:
    """The conditions ``where`` gives, as bound parameter values by condition name."""
    values: dict[str, Any] = {}
    for name in MeasureFilter.__dataclass_fields__:
        value = getattr(where, name)
        if value is None:
            continue
        if name == "departments":
            value = [department_key(department) for department in value]
        elif name in _LIST_CONDITIONS:
            value = list(value)
        values[name] = value
    return values


def _condition(name: str) -> ColumnElement[bool]:
    """The condition ``name`` of a MeasureFilter, on a bound parameter of that name."""
    values: BindParameter[Any] = bindparam(name, expanding=True)
    if name == "fiscal_years":
        return Document.fiscal_year.in_(values)
    if name == "fiscal_year_from":
        return Document.fiscal_year >= bindparam(name, type_=Integer)
    if name == "fiscal_year_to":
        return Document.fiscal_year <= bindparam(name, type_=Integer)
    if name == "municipalities":
        return Document.municipality.in_(values)
    if name == "municipality_codes":
        return Document.municipality_code.in_(values)
    if name == "prefectures":
        return Document.prefecture.in_(values)
    if name == "pillars":
        return Measure.pillar_id.in_(select(Pillar.id).where(Pillar.title.in_(values)))
    if name == "next_year_statuses":
        return Measure.carry_over_status.in_(values)
    if name == "document_ids":
        return Measure.document_id.in_(values)
    if name == "departments":  # bound to the names' keys
        linked = (
            select(MeasureDepartment.measure_id)
            .join(Department, Department.id == MeasureDepartment.department_id)
            .where(Department.key.in_(values))
        )
        return Measure.id.in_(linked)
    raise ValueError(f"no measure condition {name!r}")


def _filtered(statement: Select[Any], conditions: frozenset[str]) -> Select[Any]:
    for name in sorted(conditions):
        statement = statement.where(_condition(name))
    return statement


@functools.lru_cache(maxsize=256)
def _ids_statement(conditions: frozenset[str]) -> Select[tuple[int]]:
    return _filtered(select(Measure.id).join(Measure.document), conditions)


@functools.lru_cache(maxsize=256)
def _count_statement(conditions: frozenset[str]) -> Select[tuple[int]]:
    return _filtered(select(func.count(Measure.id)).join(Measure.document), conditions)


_ORDER = (Document.fiscal_year, Document.municipality, Measure.number)
_AFTER = tuple_(*(bindparam(f"after_{c.key}", type_=c.type) for c in _ORDER))
_BEFORE = tuple_(*(bindparam(f"before_{c.key}", type_=c.type) for c in _ORDER))


def _bound_parameters(name: str, key: MeasureKey) -> dict[str, Any]:
    return {f"{name}_{column.key}": value for column, value in zip(_ORDER, key, strict=True)}


@functools.lru_cache(maxsize=1024)
def _page_statement(
    conditions: frozenset[str],
    columns: bool,
    after: bool,
    descending: bool,
    before: bool = False,
    backward: bool = False,
) -> Select[Any]:
    """A page of the list, as ORM objects or as MeasureRow's columns, bounded by the
    parameters ``limit`` and (with ``after``/``before``) ``after_fiscal_year`` etc.

    The list runs ascending, or descending with ``descending``; ``after`` and ``before``
    bound it on either side (keyset, both exclusive). A ``backward`` page is read from the
    list's end: the comparison is the same, the order reversed, so ``limit`` rows are the
    last ones before ``before`` (the caller reverses them back into list order)."""
    entities = _ROW_COLUMNS if columns else (Measure, Document)
    statement = _filtered(select(*entities).join(Measure.document), conditions)
    key = tuple_(*_ORDER)
    if after:
        statement = statement.where(key < _AFTER if descending else key > _AFTER)
    if before:
        statement = statement.where(key > _BEFORE if descending else key < _BEFORE)
    order = [c.desc() for c in _ORDER] if descending != backward else list(_ORDER)
    return statement.order_by(*order).limit(bindparam("limit", type_=Integer))


def _page_parameters(
    where: MeasureFilter, after: MeasureKey | None, before: MeasureKey | None, limit: int
) -> dict[str, Any]:
    values = _parameters(where)
    values["limit"] = limit
    if after is not None:
        values.update(_bound_parameters("after", after))
    if before is not None:
        values.update(_bound_parameters("before", before))
    return values


def measure_ids(db: Session, where: MeasureFilter) -> list[int]:
    """Ids of every measure the filter admits (for restricting a search)."""
    values = _parameters(where)
    return list(db.connection().scalars(_ids_statement(frozenset(values)), values))


def find_measures(
    db: Session, fiscal_year: int, number: str, municipality: str | None = None
) -> list[tuple[Measure, Document]]:
    """Measures printed as ``number`` in ``fiscal_year`` (of ``municipality`` if given)."""
    statement = (
        select(Measure, Document)
        .join(Measure.document)
        .where(Document.fiscal_year == fiscal_year, Measure.number == number)
    )
    if municipality is not None:
        statement = statement.where(Document.municipality == municipality)
    return [(m, d) for m, d in db.execute(statement.order_by(Document.municipality))]


_ROOT_LIST_SIZES: dict[str, Any] = {
    "Query.documents": select(func.count()).select_from(Document),
    "Query.departments": select(func.count()).select_from(Department),
    "Query.fiscalYears": select(func.count(func.distinct(Document.fiscal_year))),
}


def root_list_size(db: Session, key: str) -> int | None:
    """How many items the API's root list ``key`` ("Query.documents"…) holds, if known."""
    statement = _ROOT_LIST_SIZES.get(key)
    return None if statement is None else db.scalar(statement) or 0


def data_version(db: Session) -> int:
    """The store's data version: it advances with every committed write transaction."""
    return db.scalar(select(ArchiveState.version).where(ArchiveState.id == 1)) or 0


def measure_total(db: Session) -> int:
    """Every measure in the store (no join: a count of one table)."""
    return db.scalar(select(func.count()).select_from(Measure)) or 0


def count_measures(db: Session, where: MeasureFilter) -> int:
    values = _parameters(where)
    return db.connection().scalar(_count_statement(frozenset(values)), values) or 0


def list_measures(
    db: Session,
    where: MeasureFilter,
    *,
    after: MeasureKey | None,
    limit: int,
    descending: bool = False,
) -> list[tuple[Measure, Document]]:
    """Up to ``limit`` measures after the one whose sort key is ``after`` (keyset pagination),
    by fiscal year, municipality and number, ascending or descending."""
    values = _page_parameters(where, after, None, limit)
    statement = _page_statement(frozenset(_parameters(where)), False, after is not None, descending)
    return [(measure, document) for measure, document in db.execute(statement, values)]


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """A measure with its document's year and municipality, read as plain columns: what a
    page of the API shows, without the cost of ORM objects."""

    id: int
    document_id: int
    pillar_id: int | None
    number: str
    title: str
    description: str
    achievement: str
    departments_others: bool
    carry_over_tag: str | None
    carry_over_status: str | None
    carry_over_year: int | None
    provenance: dict[str, Any]
    fiscal_year: int
    municipality: str
    grade: str | None = None

    @property
    def key(self) -> MeasureKey:
        return (self.fiscal_year, self.municipality, self.number)


_ROW_COLUMNS = (
    Measure.id,
    Measure.document_id,
    Measure.pillar_id,
    Measure.number,
    Measure.title,
    Measure.description,
    Measure.achievement,
    Measure.departments_others,
    Measure.carry_over_tag,
    Measure.carry_over_status,
    Measure.carry_over_year,
    Measure.provenance,
    Document.fiscal_year,
    Document.municipality,
    Measure.grade,
)


def measure_rows(
    db: Session,
    where: MeasureFilter,
    *,
    after: MeasureKey | None,
    limit: int,
    descending: bool = False,
    before: MeasureKey | None = None,
    backward: bool = False,
) -> list[MeasureRow]:
    """Up to ``limit`` measures between the sort keys ``after`` and ``before`` (keyset
    pagination, both bounds exclusive), in list order: the first ones of that range, or with
    ``backward`` the last ones (read in reverse order from ``before``'s side, then reversed).
    Read as plain rows through the session's connection: the rows are columns, so the ORM's
    execution (identity map, loader options) has nothing to do."""
    values = _page_parameters(where, after, before, limit)
    statement = _page_statement(
        frozenset(_parameters(where)),
        True,
        after is not None,
        descending,
        before is not None,
        backward,
    )
    rows = [MeasureRow(*row) for row in db.connection().execute(statement, values)]
    if backward:
        rows.reverse()
    return rows


def measures_by_ids(db: Session, ids: Sequence[int]) -> list[tuple[Measure, Document] | None]:
    rows = db.execute(
        select(Measure, Document).join(Measure.document).where(Measure.id.in_(list(ids)))
    )
    found = {measure.id: (measure, document) for measure, document in rows}
    return [found.get(i) for i in ids]


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    """A department as plain columns."""

    id: int
    name: str


_DEPARTMENTS_BY_MEASURE_IDS = (
    select(MeasureDepartment.measure_id, Department.id, Department.name)
    .join(Department, Department.id == MeasureDepartment.department_id)
    .where(MeasureDepartment.measure_id.in_(bindparam("ids", expanding=True)))
    .order_by(MeasureDepartment.measure_id, MeasureDepartment.position)
)


def departments_by_measure_ids(db: Session, ids: Sequence[int]) -> list[list[DepartmentRow]]:
    """Each measure's departments in printed order (one reused statement, read as columns)."""
    grouped: dict[int, list[DepartmentRow]] = defaultdict(list)
    for measure_id, department_id, name in db.connection().execute(
        _DEPARTMENTS_BY_MEASURE_IDS, {"ids": list(ids)}
    ):
        grouped[measure_id].append(DepartmentRow(department_id, name))
    return [grouped.get(i, []) for i in ids]


def documents_by_ids(db: Session, ids: Sequence[int]) -> list[Document | None]:
    found = {d.id: d for d in db.scalars(select(Document).where(Document.id.in_(list(ids))))}
    return [found.get(i) for i in ids]


def departments_by_ids(db: Session, ids: Sequence[int]) -> list[Department | None]:
    found = {d.id: d for d in db.scalars(select(Department).where(Department.id.in_(list(ids))))}
    return [found.get(i) for i in ids]


def measure_counts_by_document_ids(db: Session, ids: Sequence[int]) -> list[int]:
    rows = db.execute(
        select(Measure.document_id, func.count())
        .where(Measure.document_id.in_(list(ids)))
        .group_by(Measure.document_id)
    )
    counts = {document_id: count for document_id, count in rows}
    return [counts.get(i, 0) for i in ids]


def list_documents(db: Session) -> list[Document]:
    return list(db.scalars(select(Document).order_by(Document.fiscal_year, Document.municipality)))


def list_departments(db: Session) -> list[Department]:
    return list(db.scalars(select(Department).order_by(Department.name, Department.id)))


# Documents and departments page by keyset too: documents by fiscal year, municipality and
# id, departments by name and id (the orders of list_documents and list_departments, made
# total by the id).
DocumentKey = tuple[int, str, int]
DepartmentKey = tuple[str, int]


def _keyset_page(
    db: Session,
    entity: type[Any],
    order: Sequence[Any],
    *,
    after: tuple[Any, ...] | None,
    before: tuple[Any, ...] | None,
    limit: int,
    backward: bool,
) -> list[Any]:
    """Up to ``limit`` rows of ``entity`` strictly between the keys ``after`` and
    ``before`` in ascending ``order``: the first of that range, or with ``backward`` the
    last (read in descending order, then put back in list order)."""
    key = tuple_(*order)
    statement = select(entity)
    if after is not None:
        statement = statement.where(key > tuple_(*(literal(v) for v in after)))
    if before is not None:
        statement = statement.where(key < tuple_(*(literal(v) for v in before)))
    statement = statement.order_by(*(c.desc() for c in order) if backward else order)
    rows = list(db.scalars(statement.limit(limit)))
    if backward:
        rows.reverse()
    return rows


def document_page_key(document: Document) -> DocumentKey:
    return (document.fiscal_year, document.municipality, document.id)


def document_page(
    db: Session,
    *,
    after: DocumentKey | None,
    before: DocumentKey | None,
    limit: int,
    backward: bool = False,
) -> list[Document]:
    """Documents by fiscal year, municipality and id between two keys (``_keyset_page``)."""
    order = (Document.fiscal_year, Document.municipality, Document.id)
    return _keyset_page(
        db, Document, order, after=after, before=before, limit=limit, backward=backward
    )


def department_page_key(department: Department) -> DepartmentKey:
    return (department.name, department.id)


def department_page(
    db: Session,
    *,
    after: DepartmentKey | None,
    before: DepartmentKey | None,
    limit: int,
    backward: bool = False,
) -> list[Department]:
    """Departments by name and id between two keys (``_keyset_page``)."""
    order = (Department.name, Department.id)
    return _keyset_page(
        db, Department, order, after=after, before=before, limit=limit, backward=backward
    )


def count_documents(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Document)) or 0


def count_departments(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Department)) or 0


def list_fiscal_years(db: Session) -> list[FiscalYearSummary]:
    rows = db.execute(
        select(Document.fiscal_year, func.count(Measure.id))
        .outerjoin(Measure, Measure.document_id == Document.id)
        .group_by(Document.fiscal_year)
        .order_by(Document.fiscal_year)
    )
    return [FiscalYearSummary(year, count) for year, count in rows]


# -- what the full-text index mirrors -------------------------------------------------------


@dataclass(frozen=True)
class IndexRow:
    """One searchable unit: a measure, or a whole document that has no measures."""

    key: str  # "m<measure id>" or "d<document id>"
    kind: str  # "measure" or "document"
    measure_id: int | None
    document_id: int
    municipality: str
    fiscal_year: int
    number: str | None
    status: str | None  # next-year status from the tag: 継続, 完了, …
    departments: tuple[str, ...]
    # Searchable text by field: title, description, achievement, departments, pillar (measures);
    # title and text (documents without structure).
    fields: dict[str, str]
    # The next-year tag as printed ("[R3継続]") and the year it names, and the grade as
    # printed: labels, searched by tag-like terms, ``tag:`` and ``grade:`` only (#17 point 2).
    tag: str | None = None
    tag_year: int | None = None
    grade: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return _labels(self.tag or self.status, self.grade, self.number)


def index_rows(db: Session, document_ids: Sequence[int]) -> list[IndexRow]:
    """Everything the index holds for these documents: their measures, or the whole text of a
    document that has none."""
    ids = list(document_ids)
    rows = _measure_rows(db, _INDEX_BY_DOCUMENT, ids)
    structured = {row.document_id for row in rows}
    unstructured = [i for i in ids if i not in structured]
    if not unstructured:
        return rows
    documents = db.scalars(
        select(Document).where(Document.id.in_(unstructured)).options(undefer(Document.text))
    )
    return rows + [_document_row(d) for d in documents]


def index_rows_by_key(db: Session, keys: Sequence[str]) -> dict[str, IndexRow]:
    """The rows for index keys ("m12", "d3"); keys no longer in the store are left out."""
    measure_ids = [int(k[1:]) for k in keys if k.startswith("m") and k[1:].isdigit()]
    document_keys = [int(k[1:]) for k in keys if k.startswith("d") and k[1:].isdigit()]
    rows = _measure_rows(db, _INDEX_BY_MEASURE, measure_ids) if measure_ids else []
    if document_keys:
        documents = db.scalars(
            select(Document).where(Document.id.in_(document_keys)).options(undefer(Document.text))
        )
        rows += [_document_row(d) for d in documents]
    return {row.key: row for row in rows}


def _index_statement(key: Any) -> Select[*tuple[Any, ...]]:
    return (
        select(
            Measure.id,
            Measure.document_id,
            Measure.number,
            Measure.title,
            Measure.description,
            Measure.achievement,
            Measure.carry_over_status,
            Pillar.title,
            Document.municipality,
            Document.fiscal_year,
            Measure.carry_over_tag,
            Measure.carry_over_year,
            Measure.grade,
        )
        .join(Document, Document.id == Measure.document_id)
        .outerjoin(Pillar, Pillar.id == Measure.pillar_id)
        .where(key.in_(bindparam("keys", expanding=True)))
        .order_by(Measure.document_id, Measure.number)
    )


# Reused statements (see _page_statement): by measure ids for a page of search hits, by
# document ids for indexing.
_INDEX_BY_MEASURE = _index_statement(Measure.id)
_INDEX_BY_DOCUMENT = _index_statement(Measure.document_id)


def _measure_rows(
    db: Session, statement: Select[*tuple[Any, ...]], keys: Sequence[int]
) -> list[IndexRow]:
    """Index rows of the measures ``statement`` selects by ``keys``, read as plain columns
    (two queries, no ORM objects: indexing reads every measure, searches read a page)."""
    measures = db.connection().execute(statement, {"keys": list(keys)}).all()
    departments = departments_by_measure_ids(db, [m[0] for m in measures])
    names = {m[0]: [d.name for d in found] for m, found in zip(measures, departments, strict=True)}
    rows = []
    for (
        measure_id,
        document_id,
        number,
        title,
        description,
        achievement,
        status,
        pillar_title,
        municipality,
        fiscal_year,
        tag,
        tag_year,
        grade,
    ) in measures:
        department_names = tuple(names.get(measure_id, ()))
        rows.append(
            IndexRow(
                key=f"m{measure_id}",
                kind="measure",
                measure_id=measure_id,
                document_id=document_id,
                municipality=municipality,
                fiscal_year=fiscal_year,
                number=number,
                status=status,
                departments=department_names,
                fields=_measure_fields(
                    title, description, achievement, department_names, pillar_title
                ),
                tag=tag,
                tag_year=tag_year,
                grade=grade,
            )
        )
    return rows


def _measure_fields(
    title: str,
    description: str,
    achievement: str,
    departments: Sequence[str],
    pillar_title: str | None,
) -> dict[str, str]:
    """A measure's searchable text by field, as the index holds it."""
    return {
        "title": title,
        "description": description,
        "achievement": achievement,
        "departments": "、".join(departments),
        "pillar": pillar_title or "",
    }


@dataclass(frozen=True, slots=True)
class SearchRow:
    """What a search hit shows: the measure, its departments, and its searchable fields as
    the index holds them (highlights are made from those)."""

    measure: MeasureRow
    departments: list[DepartmentRow]
    fields: dict[str, str]

    @property
    def labels(self) -> dict[str, str]:
        measure = self.measure
        tag = measure.carry_over_tag or measure.carry_over_status
        return _labels(tag, measure.grade, measure.number)


def _labels(tag: str | None, grade: str | None, number: str | None) -> dict[str, str]:
    """A measure's labels as printed, by the name highlights give them (#17 point 2): its
    next-year tag ("[R3継続]", or the status where no tag was printed), grade and number."""
    printed = {"carry_over": tag, "grade": grade, "number": number}
    return {name: value for name, value in printed.items() if value}


_SEARCH_ROWS = (
    select(*_ROW_COLUMNS, Pillar.title)
    .join(Measure.document)
    .outerjoin(Pillar, Pillar.id == Measure.pillar_id)
    .where(Measure.id.in_(bindparam("ids", expanding=True)))
)


def search_rows(db: Session, ids: Sequence[int]) -> list[SearchRow | None]:
    """The rows of these measures (a page of search hits), in ``ids`` order; None for one
    no longer in the store. Two statements, read as columns."""
    rows = db.connection().execute(_SEARCH_ROWS, {"ids": list(ids)}).all()
    departments = departments_by_measure_ids(db, [row[0] for row in rows])
    found = {}
    for (*columns, pillar_title), names in zip(rows, departments, strict=True):
        measure = MeasureRow(*columns)
        fields = _measure_fields(
            measure.title,
            measure.description,
            measure.achievement,
            [d.name for d in names],
            pillar_title,
        )
        found[measure.id] = SearchRow(measure, names, fields)
    return [found.get(i) for i in ids]


def _document_row(document: Document) -> IndexRow:
    return IndexRow(
        key=f"d{document.id}",
        kind="document",
        measure_id=None,
        document_id=document.id,
        municipality=document.municipality,
        fiscal_year=document.fiscal_year,
        number=None,
        status=None,
        departments=(),
        fields={"title": document.title, "text": document.text},
    )


@dataclass(frozen=True, slots=True)
class DocumentHit:
    """What a document search hit shows: the document and its searchable fields as the
    index holds them (highlights are made from those)."""

    document: Document
    fields: dict[str, str]


def document_hits(db: Session, ids: Sequence[int]) -> list[DocumentHit | None]:
    """The documents of a page of document search hits, in ``ids`` order; None for one no
    longer in the store."""
    found = {
        d.id: DocumentHit(d, _document_row(d).fields)
        for d in db.scalars(
            select(Document).where(Document.id.in_(list(ids))).options(undefer(Document.text))
        )
    }
    return [found.get(i) for i in ids]


def document_ids_where(
    db: Session,
    *,
    fiscal_year_from: int | None = None,
    fiscal_year_to: int | None = None,
    municipalities: Sequence[str] | None = None,
) -> list[int]:
    """The documents that meet every condition given (a document search's store filter)."""
    statement = select(Document.id)
    if fiscal_year_from is not None:
        statement = statement.where(Document.fiscal_year >= fiscal_year_from)
    if fiscal_year_to is not None:
        statement = statement.where(Document.fiscal_year <= fiscal_year_to)
    if municipalities is not None:
        statement = statement.where(Document.municipality.in_(list(municipalities)))
    return list(db.scalars(statement))


def document_ids(db: Session) -> list[int]:
    return list(db.scalars(select(Document.id).order_by(Document.id)))


def index_log_after(db: Session, position: int) -> list[IndexTask]:
    """The index log's entries after ``position``, oldest first (#19 point 1)."""
    statement = select(IndexTask).where(IndexTask.id > position).order_by(IndexTask.id)
    return list(db.scalars(statement))


def index_log_head(db: Session) -> int:
    """The id of the newest entry of the index log (the floor when it is empty): an index
    positioned here has every change committed so far."""
    newest = db.scalar(select(func.max(IndexTask.id)))
    return newest if newest is not None else index_log_floor(db)


def index_log_floor(db: Session) -> int:
    """The highest id trimmed from the index log: an index positioned below it missed
    changes, and rebuilds."""
    return db.scalar(select(ArchiveState.index_log_floor).where(ArchiveState.id == 1)) or 0


def index_log_lag(db: Session, position: int) -> tuple[int, datetime | None]:
    """How many entries an index at ``position`` has not applied, and when the oldest of
    them was written (None when it has them all)."""
    count, oldest = db.execute(
        select(func.count(), func.min(IndexTask.created_at)).where(IndexTask.id > position)
    ).one()
    return count, oldest


def trim_index_log(db: Session, before: datetime) -> int:
    """Delete the log's entries written before ``before`` (and any older id), raising the
    floor to the last one deleted; returns how many. Entries are trimmed by id, so the log
    stays a suffix; nothing is written when nothing is that old. Run in a writer session:
    the store's writer lock keeps it in order with the writes that add entries."""
    last = db.scalar(select(func.max(IndexTask.id)).where(IndexTask.created_at < before))
    if last is None:
        return 0
    deleted = db.scalar(select(func.count()).where(IndexTask.id <= last)) or 0
    db.execute(delete(IndexTask).where(IndexTask.id <= last))
    db.execute(
        update(ArchiveState)
        .where(ArchiveState.id == 1, ArchiveState.index_log_floor < last)
        .values(index_log_floor=last)
    )
    return deleted


def pillars_by_ids(db: Session, ids: Sequence[int]) -> list[Pillar | None]:
    found = {p.id: p for p in db.scalars(select(Pillar).where(Pillar.id.in_(list(ids))))}
    return [found.get(i) for i in ids]


def pillars_by_document_ids(db: Session, ids: Sequence[int]) -> list[list[Pillar]]:
    grouped: dict[int, list[Pillar]] = defaultdict(list)
    for pillar in db.scalars(
        select(Pillar).where(Pillar.document_id.in_(list(ids))).order_by(Pillar.number)
    ):
        grouped[pillar.document_id].append(pillar)
    return [grouped.get(i, []) for i in ids]


@dataclass(frozen=True)
class DocumentTexts:
    raw_text: str
    text: str


def document_texts_by_ids(db: Session, ids: Sequence[int]) -> list[DocumentTexts | None]:
    rows = db.execute(
        select(Document.id, Document.raw_text, Document.text).where(Document.id.in_(list(ids)))
    )
    found = {i: DocumentTexts(raw, text) for i, raw, text in rows}
    return [found.get(i) for i in ids]


def changes_after(db: Session, after: int, limit: int) -> list[Change]:
    """The change feed: up to ``limit`` changes with an id above ``after``, in commit order."""
    return change_page(db, after=after, before=None, limit=limit)


def change_page(
    db: Session, *, after: int | None, before: int | None, limit: int, backward: bool = False
) -> list[Change]:
    """Up to ``limit`` changes between the ids ``after`` and ``before`` (both excluded), in
    commit order: the first of that range, or its last ones when ``backward``."""
    statement = select(Change)
    if after is not None:
        statement = statement.where(Change.id > after)
    if before is not None:
        statement = statement.where(Change.id < before)
    order = Change.id.desc() if backward else Change.id
    rows = list(db.scalars(statement.order_by(order).limit(limit)))
    return rows[::-1] if backward else rows
