"""SQLite settings that keep concurrent use safe: WAL, and writers that begin IMMEDIATE."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from archive import db
from archive.ingest import Outcome, prepare_document, store_document
from archive.models import Department
from tests import variants


def test_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = db.create_store_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_a_second_writer_waits_instead_of_failing(tmp_path: Path, sample_text: str) -> None:
    """The second writer reads before it writes. Begun DEFERRED, it would fail with
    "database is locked" as soon as the first commits; begun IMMEDIATE, it waits its turn."""
    engine = db.create_store_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    db.upgrade(engine)
    sessions = db.writer(engine)
    prepared = prepare_document(variants.added_measure(sample_text), "r.txt")
    first_has_lock = threading.Event()
    outcomes: list[object] = []

    def second_writer() -> None:
        first_has_lock.wait()
        try:
            with sessions() as session, session.begin():
                outcomes.append(store_document(session, prepared).outcome)
        except Exception as error:  # the assertion below shows what went wrong
            outcomes.append(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with sessions() as session, session.begin():
        session.add(Department(name="先に書く課", key="先に書く課"))
        session.flush()
        first_has_lock.set()
        time.sleep(0.5)  # the second writer is now waiting at BEGIN
    thread.join(timeout=30)
    assert outcomes == [Outcome.STORED]
    engine.dispose()
