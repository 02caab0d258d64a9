"""DataLoaders: one ``WHERE key IN (...)`` query per field per request, whatever the page size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from archive import compare, curation, lineage, queries
from archive.models import Department, Document, Measure, Pillar

K = TypeVar("K")
V = TypeVar("V")


def _loader(db: Session, batch: Callable[[Session, Sequence[K]], Sequence[V]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        return batch(db, keys)

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, db: Session) -> None:
        self.departments_by_measure: DataLoader[int, list[Department]] = _loader(
            db, queries.departments_by_measure_ids
        )
        self.department: DataLoader[int, Department | None] = _loader(
            db, queries.departments_by_ids
        )
        self.document: DataLoader[int, Document | None] = _loader(db, queries.documents_by_ids)
        self.measure: DataLoader[int, tuple[Measure, Document] | None] = _loader(
            db, queries.measures_by_ids
        )
        self.measure_count_by_document: DataLoader[int, int] = _loader(
            db, queries.measure_counts_by_document_ids
        )
        self.document_texts: DataLoader[int, queries.DocumentTexts | None] = _loader(
            db, queries.document_texts_by_ids
        )
        self.pillar: DataLoader[int, Pillar | None] = _loader(db, queries.pillars_by_ids)
        self.pillars_by_document: DataLoader[int, list[Pillar]] = _loader(
            db, queries.pillars_by_document_ids
        )
        self.carry_over_flags: DataLoader[int, list[str]] = _loader(db, compare.carry_over_flags)
        self.department_years: DataLoader[str, list[curation.DepartmentYear]] = _loader(
            db, curation.department_years
        )
        self.history: DataLoader[int, list[tuple[Measure, Document]]] = _loader(
            db, lineage.history_by_measure_ids
        )
