"""archive/overview.py on the store of three years of reports: counting a set of measures a
chunk at a time gives the counts of counting them at once, and counting every measure by id
gives the counts of the unfiltered archive (two different statements, one answer)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from archive import overview, queries
from archive.db import reader
from server.resources import open_store
from server.settings import Settings


@pytest.fixture(scope="module")
def db(three_years_archive: Settings) -> Iterator[Session]:
    engine = open_store(three_years_archive)
    try:
        with reader(engine)() as session:
            yield session
    finally:
        engine.dispose()


def test_counting_by_ids_in_chunks(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    every = queries.measure_ids(db, queries.MeasureFilter())
    assert len(every) > 7
    whole = overview.measure_overview(db, queries.MeasureFilter())
    assert overview.measure_overview(db, queries.MeasureFilter(), every) == whole
    some = every[::2]
    at_once = overview.measure_overview(db, queries.MeasureFilter(), some)
    monkeypatch.setattr(overview, "CHUNK", 3)  # several chunks, the last one short
    assert overview.measure_overview(db, queries.MeasureFilter(), some) == at_once
    assert overview.measure_overview(db, queries.MeasureFilter(), every) == whole
    assert at_once.total == len(some)


def test_no_measures(db: Session) -> None:
    empty = overview.measure_overview(db, queries.MeasureFilter(), [])
    assert empty == overview.Overview(0, [], [], [], [])
