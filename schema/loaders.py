"""DataLoaders: one ``WHERE key IN (...)`` query per field per request, whatever the page size.

Strawberry's DataLoader sends a batch on the loop iteration after its first key. GraphQL
execution wakes resolvers of one level at slightly different iterations (nested lists of
different shapes), so a field could take two or three batches where one would do, and the
number of queries would depend on the data's shape. ``DataLoader`` here waits a few
iterations before it sends a batch: every resolver of a level asks in time, and a page's
queries do not grow with its size or shape. Like Strawberry's, it caches each key for the
request it was built for, and must not outlive it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from archive import compare, curation, lineage, queries
from archive.models import Department, Document, Measure, Pillar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WAIT_ITERATIONS = 5  # loop iterations a batch waits for more keys


class DataLoader(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Sequence[V]]) -> None:
        self._fetch = fetch
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._pending: list[K] = []
        self._sending: asyncio.Task[None] | None = None

    def load(self, key: K) -> Awaitable[V]:
        found = self._cache.get(key)
        if found is not None:
            return found
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        self._pending.append(key)
        if self._sending is None:
            self._sending = asyncio.ensure_future(self._send())
        return future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        return list(await asyncio.gather(*map(self.load, keys)))

    async def _send(self) -> None:
        for _ in range(WAIT_ITERATIONS):
            await asyncio.sleep(0)
        keys, self._pending, self._sending = self._pending, [], None
        futures = [self._cache[key] for key in keys]
        try:
            values = self._fetch(keys)
        except Exception as error:  # every waiting resolver gets the error
            for future in futures:
                future.set_exception(error)
            return
        for future, value in zip(futures, values, strict=True):
            future.set_result(value)


def _loader(db: Session, batch: Callable[[Session, Sequence[K]], Sequence[V]]) -> DataLoader[K, V]:
    return DataLoader(lambda keys: batch(db, keys))


class Loaders:
    def __init__(self, db: Session, lineages: lineage.Lineages | None = None) -> None:
        self._lineages = lineages
        self.departments_by_measure: DataLoader[int, list[queries.DepartmentRow]] = _loader(
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
        self.carry_over_flags: DataLoader[int, list[str]] = _loader(
            db, lambda db, ids: compare.carry_over_flags(db, ids, self._histories(db, ids))
        )
        self.department_years: DataLoader[str, list[curation.DepartmentYear]] = _loader(
            db, curation.department_years
        )
        self.history: DataLoader[int, list[tuple[Measure, Document]]] = _loader(db, self._histories)
        # Histories worked out in this request, shared by ``history`` and ``carryOverFlags``:
        # each loads every measure of the municipalities involved.
        self._history_of: dict[int, list[tuple[Measure, Document]]] = {}

    def _histories(self, db: Session, ids: Sequence[int]) -> list[list[tuple[Measure, Document]]]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._history_of]
        if missing:
            found = lineage.history_by_measure_ids(db, missing, self._lineages)
            self._history_of.update(zip(missing, found, strict=True))
        return [self._history_of[i] for i in ids]
