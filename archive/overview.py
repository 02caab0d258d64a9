"""Counting measures for an overview: per fiscal year, by next-year status, by pillar and by
department, over the whole archive, a filter, or a given set of measures (a search's hits).

Each count is one ``GROUP BY`` on the store. A set of measures is counted a chunk of ids at a
time (``CHUNK``) and the chunks' counts added up, so a search with 100,000 hits is not one
statement of 100,000 ids. The ids are integers written into the statement
(``literal_execute``), not bound one parameter each, so no database's limit on parameters
(SQLite's 32,766, 999 in builds before 3.32) applies. At 20,000 synthetic measures, counting
the 8,650 to 16,577 hits of a search took 40-145 ms here (500 ids a chunk, bound: 100-155 ms);
the whole archive 40 ms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from archive.models import Department, Document, Measure, MeasureDepartment, Pillar
from archive.queries import MeasureFilter, _filtered, _parameters

CHUNK = 5000  # measure ids in one statement
# Next-year statuses from going on to stopping, as a reader scans them; others by name after.
_STATUSES = ("継続", "拡充", "新規", "統合", "完了", "終了", "廃止")
STATUS_ORDER: dict[str | None, int] = {status: rank for rank, status in enumerate(_STATUSES)}

# A key of a count: (fiscal year, value), the value None for "not printed" (no next-year tag,
# no pillar).
Key = tuple[int, str | None]


@dataclass(frozen=True)
class Tally:
    """How many measures of ``fiscal_year`` have ``value`` (None: none printed)."""

    fiscal_year: int
    value: str | None
    count: int


@dataclass(frozen=True)
class Overview:
    total: int  # measures counted
    fiscal_years: list[Tally]  # value None: every measure of the year
    next_year_statuses: list[Tally]  # 継続, 完了…; None: no next-year tag printed
    pillars: list[Tally]  # pillar titles; None: the measure has no pillar
    departments: list[Tally]  # a measure counts once for each of its departments


def _status_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(Document.fiscal_year, Measure.carry_over_status, func.count(Measure.id))
        .join(Measure.document)
        .group_by(Document.fiscal_year, Measure.carry_over_status)
    )


def _pillar_statement() -> Select[*tuple[Any, ...]]:
    return (
        select(Document.fiscal_year, Pillar.title, func.count(Measure.id))
        .join(Measure.document)
        .outerjoin(Pillar, Pillar.id == Measure.pillar_id)
        .group_by(Document.fiscal_year, Pillar.title)
    )


def _department_statement() -> Select[*tuple[Any, ...]]:
    # Grouped by the department (its key), named as first printed: two spellings of one
    # department (full- and half-width) are one row, as everywhere else.
    return (
        select(Document.fiscal_year, Department.name, func.count(Measure.id))
        .join(Measure.document)
        .join(MeasureDepartment, MeasureDepartment.measure_id == Measure.id)
        .join(Department, Department.id == MeasureDepartment.department_id)
        .group_by(Document.fiscal_year, Department.id, Department.name)
    )


def _counts(db: Session, statement: Select[*tuple[Any, ...]], where: MeasureFilter) -> Counter[Key]:
    values = _parameters(where)
    counted: Counter[Key] = Counter()
    for year, value, count in db.execute(_filtered(statement, frozenset(values)), values):
        counted[(year, value)] += count
    return counted


def _counts_of(
    db: Session, statement: Select[*tuple[Any, ...]], ids: Sequence[int]
) -> Counter[Key]:
    chosen = statement.where(Measure.id.in_(bindparam("ids", expanding=True, literal_execute=True)))
    counted: Counter[Key] = Counter()
    for start in range(0, len(ids), CHUNK):
        for year, value, count in db.execute(chosen, {"ids": list(ids[start : start + CHUNK])}):
            counted[(year, value)] += count
    return counted


def _tallies(counted: Counter[Key], order: dict[str | None, int] | None = None) -> list[Tally]:
    """By year, then by ``order`` of the value (else by name), none printed last."""

    def key(item: tuple[Key, int]) -> tuple[int, int, int, str]:
        (year, value), _ = item
        rank = (order or {}).get(value, len(order or {}))
        return (year, value is None, rank, value or "")

    return [Tally(year, value, count) for (year, value), count in sorted(counted.items(), key=key)]


def _pillar_order(db: Session, titles: Iterable[str | None]) -> dict[str | None, int]:
    """Pillar titles in the order reports print them (the lowest number they have anywhere),
    so the overview lists 体系 1, 2, 3… rather than by title."""
    wanted = sorted({title for title in titles if title is not None})
    if not wanted:
        return {}
    statement = (
        select(Pillar.title, func.min(Pillar.number))
        .where(Pillar.title.in_(wanted))
        .group_by(Pillar.title)
    )
    numbered = sorted(db.execute(statement), key=lambda row: (row[1], row[0]))
    return {title: rank for rank, (title, _) in enumerate(numbered)}


def measure_overview(
    db: Session, where: MeasureFilter, measure_ids: Sequence[int] | None = None
) -> Overview:
    """The counts over the measures ``where`` admits, or (given) over ``measure_ids`` only."""

    def count(statement: Select[*tuple[Any, ...]]) -> Counter[Key]:
        if measure_ids is None:
            return _counts(db, statement, where)
        return _counts_of(db, statement, sorted(set(measure_ids)))

    statuses = count(_status_statement())
    per_year: Counter[Key] = Counter()
    for (year, _), found in statuses.items():
        per_year[(year, None)] += found
    pillars = count(_pillar_statement())
    return Overview(
        total=sum(per_year.values()),
        fiscal_years=_tallies(per_year),
        next_year_statuses=_tallies(statuses, STATUS_ORDER),
        pillars=_tallies(pillars, _pillar_order(db, (value for _, value in pillars))),
        departments=_tallies(count(_department_statement())),
    )
