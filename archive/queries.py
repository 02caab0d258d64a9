"""Reading the store: the queries behind the API and the CLI.

Every function takes the open database handle ``db`` first and never opens, commits or
closes it: the caller owns the transaction. Functions that serve a DataLoader take a list
of keys and return one result per key, in key order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session

from archive.models import Department, Document, Measure, MeasureDepartment
from archive.parse import department_key


@dataclass(frozen=True)
class MeasureFilter:
    fiscal_years: Sequence[int] | None = None
    departments: Sequence[str] | None = None  # names as printed; compared by normalised key


@dataclass(frozen=True)
class FiscalYearSummary:
    year: int
    measure_count: int


# Measures are listed by fiscal year, municipality and number; ``id`` makes the order total.
MeasureKey = tuple[int, str, str, int]


def measure_key(measure: Measure, document: Document) -> MeasureKey:
    return (document.fiscal_year, document.municipality, measure.number, measure.id)


def _filtered(
    statement: Select[Measure, Document], where: MeasureFilter
) -> Select[Measure, Document]:
    if where.fiscal_years is not None:
        statement = statement.where(Document.fiscal_year.in_(list(where.fiscal_years)))
    if where.departments is not None:
        keys = [department_key(name) for name in where.departments]
        linked = (
            select(MeasureDepartment.measure_id)
            .join(Department, Department.id == MeasureDepartment.department_id)
            .where(Department.key.in_(keys))
        )
        statement = statement.where(Measure.id.in_(linked))
    return statement


def count_measures(db: Session, where: MeasureFilter) -> int:
    statement = _filtered(select(Measure, Document).join(Measure.document), where)
    return db.scalar(select(func.count()).select_from(statement.subquery())) or 0


def list_measures(
    db: Session, where: MeasureFilter, *, after: MeasureKey | None, limit: int
) -> list[tuple[Measure, Document]]:
    """Up to ``limit`` measures after the one whose sort key is ``after`` (keyset pagination)."""
    statement = _filtered(select(Measure, Document).join(Measure.document), where)
    order = (Document.fiscal_year, Document.municipality, Measure.number, Measure.id)
    if after is not None:
        statement = statement.where(tuple_(*order) > tuple_(*after))
    rows = db.execute(statement.order_by(*order).limit(limit))
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
