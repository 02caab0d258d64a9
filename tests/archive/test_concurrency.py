"""Writers and readers at the same time, on both stores: one writer at a time (SQLite's write
lock; PostgreSQL's advisory lock), clear errors when waiting is too long, and readers that
see the archive before or after a write, never between."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from archive import db
from archive.db import StoreBusy, StoreTimeout, reader, store_problem, writer
from archive.ingest import prepare_document, store_document
from archive.queries import MeasureFilter, count_measures, list_fiscal_years
from tests.conftest import ROOT

FY2019 = ROOT / "tests/fixtures/hitachi-action-plan-fy2019.txt"
FY2021 = ROOT / "tests/fixtures/hitachi-action-plan-fy2021.txt"


def _ingest(engine: Engine, path: Path) -> None:
    with writer(engine)() as session, session.begin():
        store_document(session, prepare_document(path.read_bytes(), path.name))


def _other_engine(engine: Engine, **timeouts: float) -> Engine:
    """A second engine on the same store, as another process would open it."""
    url = engine.url.render_as_string(hide_password=False)
    connect_args = {}
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            path = connection.exec_driver_sql("SHOW search_path").scalar()
        connect_args = {"options": f"-csearch_path={path}"}
    return db.create_store_engine(url, connect_args=connect_args, **timeouts)


def test_writers_take_turns(engine: Engine) -> None:
    """A second writer cannot begin while the first holds its transaction."""
    other = _other_engine(engine)
    first_done = threading.Event()
    began_at: list[float] = []

    def second() -> None:
        with writer(other)() as session, session.begin():
            session.execute(text("SELECT 1"))
            began_at.append(time.monotonic())
            store_document(session, prepare_document(FY2021.read_bytes(), FY2021.name))

    with writer(engine)() as session, session.begin():
        session.execute(text("SELECT 1"))
        store_document(session, prepare_document(FY2019.read_bytes(), FY2019.name))
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not began_at, "the second writer began while the first held the archive"
        committed_at = time.monotonic()
        first_done.set()
    thread.join(timeout=30)
    assert began_at
    assert began_at[0] >= committed_at
    with reader(engine)() as session:
        assert [y.year for y in list_fiscal_years(session)] == [2019, 2021]
    other.dispose()


def test_a_writer_that_waits_too_long_gets_a_clear_error(engine: Engine) -> None:
    impatient = _other_engine(engine, lock_timeout=0.3)
    errors: list[BaseException] = []
    with writer(engine)() as session, session.begin():
        session.execute(text("SELECT 1"))
        _ingest_in_thread = threading.Thread(target=lambda: _try(impatient, errors))
        _ingest_in_thread.start()
        _ingest_in_thread.join(timeout=30)
    assert len(errors) == 1
    problem = store_problem(errors[0])
    assert isinstance(problem, StoreBusy)
    assert "another writer" in str(problem)
    with reader(engine)() as session:  # the refused writer left nothing
        assert count_measures(session, MeasureFilter()) == 0
    impatient.dispose()


def _try(engine: Engine, errors: list[BaseException]) -> None:
    try:
        _ingest(engine, FY2019)
    except Exception as error:
        errors.append(error)


def test_a_slow_statement_gets_a_clear_error(engine: Engine) -> None:
    """PostgreSQL stops a statement at the statement timeout, with a clear error. SQLite has
    no statement timeout (requests are bounded by the query cost); its busy timeout is the
    lock timeout."""
    if engine.dialect.name == "sqlite":
        patient = _other_engine(engine, lock_timeout=0.25)
        with patient.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
        patient.dispose()
        return
    hasty = _other_engine(engine, statement_timeout=0.2)
    with pytest.raises(OperationalError) as raised, hasty.connect() as connection:
        connection.execute(text("SELECT pg_sleep(2)"))
    assert isinstance(store_problem(raised.value), StoreTimeout)
    hasty.dispose()


def test_readers_see_before_or_after_a_write_never_between(engine: Engine) -> None:
    """Many reads while reports are stored: within one read transaction, the measure count
    and the per-year counts always describe the same archive."""
    _ingest(engine, ROOT / "sample/hitachi-action-plan-fy2020.txt")
    stop = threading.Event()
    seen: set[int] = set()
    torn: list[tuple[int, int]] = []

    def read() -> None:
        while not stop.is_set():
            with reader(engine)() as session:
                total = count_measures(session, MeasureFilter())
                time.sleep(0.005)  # let a writer commit in between, if it can
                by_year = sum(y.measure_count for y in list_fiscal_years(session))
                if total != by_year:
                    torn.append((total, by_year))
                seen.add(total)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    _ingest(engine, FY2019)
    _ingest(engine, FY2021)
    deadline = time.monotonic() + 10
    while 36 not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert torn == []
    assert seen <= {12, 24, 36}
    assert 36 in seen


def test_every_pooled_connection_in_use_is_a_busy_store(tmp_path: Path) -> None:
    engine = db.create_store_engine(
        f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    with engine.connect(), pytest.raises(sqlalchemy.exc.TimeoutError) as waited:
        engine.connect()
    assert isinstance(store_problem(waited.value), StoreBusy)
    engine.dispose()
