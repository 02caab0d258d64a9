"""Reading the store: the queries behind the API and the CLI.

Every function takes the open database handle ``db`` first and never opens, commits or
closes it: the caller owns the transaction. Functions that serve a DataLoader take a list
of keys and return one result per key, in key order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.orm import Session, undefer

from archive.models import (
    ArchiveState,
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


def _filtered(
    statement: Select[Measure, Document], where: MeasureFilter
) -> Select[Measure, Document]:
    if where.fiscal_years is not None:
        statement = statement.where(Document.fiscal_year.in_(list(where.fiscal_years)))
    if where.fiscal_year_from is not None:
        statement = statement.where(Document.fiscal_year >= where.fiscal_year_from)
    if where.fiscal_year_to is not None:
        statement = statement.where(Document.fiscal_year <= where.fiscal_year_to)
    if where.municipalities is not None:
        statement = statement.where(Document.municipality.in_(list(where.municipalities)))
    if where.pillars is not None:
        titled = select(Pillar.id).where(Pillar.title.in_(list(where.pillars)))
        statement = statement.where(Measure.pillar_id.in_(titled))
    if where.next_year_statuses is not None:
        statement = statement.where(Measure.carry_over_status.in_(list(where.next_year_statuses)))
    if where.document_ids is not None:
        statement = statement.where(Measure.document_id.in_(list(where.document_ids)))
    if where.departments is not None:
        keys = [department_key(name) for name in where.departments]
        linked = (
            select(MeasureDepartment.measure_id)
            .join(Department, Department.id == MeasureDepartment.department_id)
            .where(Department.key.in_(keys))
        )
        statement = statement.where(Measure.id.in_(linked))
    return statement


def measure_ids(db: Session, where: MeasureFilter) -> list[int]:
    """Ids of every measure the filter admits (for restricting a search)."""
    statement = _filtered(select(Measure, Document).join(Measure.document), where)
    return list(db.scalars(select(statement.subquery().c.id)))


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


def root_list_size(db: Session, key: str) -> int | None:
    """How many items the API's root list ``key`` ("Query.documents"…) holds, if known."""
    statements: dict[str, Any] = {
        "Query.documents": select(func.count()).select_from(Document),
        "Query.departments": select(func.count()).select_from(Department),
        "Query.fiscalYears": select(func.count(func.distinct(Document.fiscal_year))),
    }
    statement = statements.get(key)
    return None if statement is None else db.scalar(statement) or 0


def data_version(db: Session) -> int:
    """The store's data version: it advances with every committed write transaction."""
    return db.scalar(select(ArchiveState.version).where(ArchiveState.id == 1)) or 0


def measure_total(db: Session) -> int:
    """Every measure in the store (no join: a count of one table)."""
    return db.scalar(select(func.count()).select_from(Measure)) or 0


def count_measures(db: Session, where: MeasureFilter) -> int:
    statement = _filtered(select(Measure, Document).join(Measure.document), where)
    return db.scalar(select(func.count()).select_from(statement.subquery())) or 0


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
    statement = _filtered(select(Measure, Document).join(Measure.document), where)
    order = (Document.fiscal_year, Document.municipality, Measure.number)
    if after is not None:
        beyond = tuple_(*order) < tuple_(*after) if descending else tuple_(*order) > tuple_(*after)
        statement = statement.where(beyond)
    columns = [c.desc() for c in order] if descending else list(order)
    rows = db.execute(statement.order_by(*columns).limit(limit))
    return [(measure, document) for measure, document in rows]


def measures_by_ids(db: Session, ids: Sequence[int]) -> list[tuple[Measure, Document] | None]:
    rows = db.execute(
        select(Measure, Document).join(Measure.document).where(Measure.id.in_(list(ids)))
    )
    found = {measure.id: (measure, document) for measure, document in rows}
    return [found.get(i) for i in ids]


def departments_by_measure_ids(db: Session, ids: Sequence[int]) -> list[list[Department]]:
    rows = db.execute(
        select(MeasureDepartment.measure_id, Department)
        .join(Department, Department.id == MeasureDepartment.department_id)
        .where(MeasureDepartment.measure_id.in_(list(ids)))
        .order_by(MeasureDepartment.measure_id, MeasureDepartment.position)
    )
    grouped: dict[int, list[Department]] = defaultdict(list)
    for measure_id, department in rows:
        grouped[measure_id].append(department)
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


def index_rows(db: Session, document_ids: Sequence[int]) -> list[IndexRow]:
    """Everything the index holds for these documents: their measures, or the whole text of a
    document that has none."""
    ids = list(document_ids)
    rows = _measure_rows(db, Measure.document_id.in_(ids))
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
    rows = _measure_rows(db, Measure.id.in_(measure_ids)) if measure_ids else []
    if document_keys:
        documents = db.scalars(
            select(Document).where(Document.id.in_(document_keys)).options(undefer(Document.text))
        )
        rows += [_document_row(d) for d in documents]
    return {row.key: row for row in rows}


def _measure_rows(db: Session, where: Any) -> list[IndexRow]:
    """Index rows of the measures ``where`` selects, read as plain columns (two queries,
    no ORM objects: indexing reads every measure, searches read a page of them)."""
    measures = db.execute(
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
        )
        .join(Document, Document.id == Measure.document_id)
        .outerjoin(Pillar, Pillar.id == Measure.pillar_id)
        .where(where)
        .order_by(Measure.document_id, Measure.number)
    ).all()
    names: dict[int, list[str]] = defaultdict(list)
    for measure_id, name in db.execute(
        select(MeasureDepartment.measure_id, Department.name)
        .join(Department, Department.id == MeasureDepartment.department_id)
        .where(MeasureDepartment.measure_id.in_([m[0] for m in measures]))
        .order_by(MeasureDepartment.measure_id, MeasureDepartment.position)
    ):
        names[measure_id].append(name)
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
                fields={
                    "title": title,
                    "description": description,
                    "achievement": achievement,
                    "departments": "、".join(department_names),
                    "pillar": pillar_title or "",
                },
            )
        )
    return rows


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


def document_ids(db: Session) -> list[int]:
    return list(db.scalars(select(Document.id).order_by(Document.id)))


def pending_index_tasks(db: Session) -> list[IndexTask]:
    return list(db.scalars(select(IndexTask).order_by(IndexTask.id)))


def pending_index_task_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(IndexTask)) or 0


def delete_index_tasks(db: Session, up_to_id: int) -> None:
    """Forget index work up to and including task ``up_to_id``, once the index has it."""
    db.execute(delete(IndexTask).where(IndexTask.id <= up_to_id))


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
