"""The index log (#19 point 1): several indexes follow one store, each from its own
position; the log is trimmed only behind its retention window, and an index positioned
below what was trimmed, or new, is rebuilt from the store. In process, on the suite's store
(SQLite by default); the same across processes and PostgreSQL is tests/server/test_nodes.py.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from archive import db, queries
from archive.ingest import delete_document, find_document
from archive.models import IndexTask
from index.writing import (
    Applied,
    IndexBehind,
    Rebuilt,
    apply_pending,
    check,
    current_dir,
    follow,
    lag,
    position,
    read_position,
)
from tests.conftest import REPORTS
from tests.index.conftest import Archive


def test_two_indexes_follow_one_store_each_from_its_own_position(archive: Archive) -> None:
    other = archive.index_dir.parent / "other-node-index"
    archive.ingest(REPORTS[0].read_bytes(), REPORTS[0].name)
    assert follow(archive.reader, other) is not None  # new: built from the store
    archive.ingest(REPORTS[1].read_bytes(), REPORTS[1].name)  # applied to the first only
    with archive.reader() as session:
        head = queries.index_log_head(session)
    assert position(archive.index_dir) == head
    assert position(other) == head - 1  # one report behind, and its log entry still there
    assert check(archive.reader, other).pending == 1
    applied = follow(archive.reader, other)
    assert isinstance(applied, Applied)
    assert applied.tasks == 1
    assert position(other) == head
    for index_dir in (archive.index_dir, other):
        assert check(archive.reader, index_dir).consistent
    assert follow(archive.reader, other) is None  # in step: nothing to do


def test_an_index_behind_the_trimmed_log_is_rebuilt(archive: Archive) -> None:
    other = archive.index_dir.parent / "other-node-index"
    archive.ingest(REPORTS[0].read_bytes(), REPORTS[0].name)
    follow(archive.reader, other)
    before = current_dir(other)
    archive.ingest(REPORTS[1].read_bytes(), REPORTS[1].name)
    with db.writer(archive.engine)() as session, session.begin():
        found = find_document(session, "日立市", 2019)
        assert found is not None
        delete_document(session, found.id)
    time.sleep(0.05)
    # The first index applies and trims everything older than 0.01 s: the other's position
    # is now below the floor.
    apply_pending(archive.reader, archive.index_dir, retention=0.01)
    with archive.reader() as session:
        floor = queries.index_log_floor(session)
        left = session.scalar(select(func.count()).select_from(IndexTask))
    assert floor > (position(other) or 0)
    assert left == 0
    with pytest.raises(IndexBehind):
        apply_pending(archive.reader, other)
    rebuilt = follow(archive.reader, other)
    assert isinstance(rebuilt, Rebuilt)
    assert current_dir(other) != before
    assert check(archive.reader, other).consistent
    with archive.reader() as session:
        assert position(other) == queries.index_log_head(session) == floor


def test_ids_of_a_trimmed_log_are_never_handed_out_again(archive: Archive) -> None:
    """An emptied log's next entry still comes after every position (SQLite reused ids
    without AUTOINCREMENT)."""
    archive.ingest(REPORTS[0].read_bytes(), REPORTS[0].name)
    time.sleep(0.05)
    apply_pending(archive.reader, archive.index_dir, retention=0.01)
    at = position(archive.index_dir)
    assert at is not None
    with archive.reader() as session:
        assert session.scalar(select(func.count()).select_from(IndexTask)) == 0  # trimmed
    archive.ingest(REPORTS[1].read_bytes(), REPORTS[1].name)
    with archive.reader() as session:
        first = session.scalar(select(func.min(IndexTask.id)))
    assert first is not None
    assert first > at
    assert position(archive.index_dir) == first
    assert check(archive.reader, archive.index_dir).consistent


def test_an_index_from_before_the_log_takes_what_its_store_still_queues(
    archive: Archive,
) -> None:
    """Before the log had positions, applied entries were deleted: an index without a
    position holds everything but what is still in the table."""
    archive.ingest(REPORTS[0].read_bytes(), REPORTS[0].name)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    (folder / "POSITION").unlink()
    with db.writer(archive.engine)() as session, session.begin():
        session.execute(text("DELETE FROM index_tasks"))
    archive.store(REPORTS[1].read_bytes(), REPORTS[1].name)
    applied = apply_pending(archive.reader, archive.index_dir)
    assert applied.tasks == 1
    assert read_position(folder) is not None
    assert current_dir(archive.index_dir) == folder  # followed, not rebuilt
    assert check(archive.reader, archive.index_dir).consistent


def test_lag_is_the_age_of_the_oldest_change_not_applied(archive: Archive) -> None:
    assert lag(archive.reader, archive.index_dir) is None  # not built
    archive.ingest(REPORTS[0].read_bytes(), REPORTS[0].name)
    assert lag(archive.reader, archive.index_dir) == (0, 0.0)
    archive.store(REPORTS[1].read_bytes(), REPORTS[1].name)
    time.sleep(0.2)
    behind = lag(archive.reader, archive.index_dir)
    assert behind is not None
    assert behind[0] == 1
    assert behind[1] >= 0.2


def test_a_new_index_of_a_store_whose_log_was_emptied_holds_every_document(
    archive: Archive,
) -> None:
    """Before the log, applied entries were deleted: a store upgraded then has documents and
    an empty log. A new node's index reads every document, not the log."""
    for report in REPORTS[:2]:
        archive.ingest(report.read_bytes(), report.name)
    with db.writer(archive.engine)() as session, session.begin():
        session.execute(text("DELETE FROM index_tasks"))
    other = archive.index_dir.parent / "new-node-index"
    follow(archive.reader, other)
    found = check(archive.reader, other)
    assert found.consistent, found
    assert not check(archive.reader, other).missing
    with archive.reader() as session:
        assert position(other) == queries.index_log_head(session)
