"""The index follows the store: queued work, crash repair, rebuild beside, one writer."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from archive.errors import DocumentRefused
from index.bulk import latest
from index.search import IndexNotBuilt
from index.writing import (
    IndexBusy,
    apply_pending,
    check,
    current_dir,
    open_writer,
    rebuild,
    repair,
)
from tests import variants
from tests.index.conftest import Archive, delete_keys


def test_ingest_leaves_store_and_index_in_step(archive: Archive, sample_bytes: bytes) -> None:
    archive.ingest(sample_bytes)
    found = check(archive.reader, archive.index_dir)
    assert found.consistent
    assert archive.searcher().search("市民").total == 4


def test_crash_between_store_and_index_is_repaired(archive: Archive, sample_bytes: bytes) -> None:
    archive.store(sample_bytes)  # the process dies before it updates the index
    found = check(archive.reader, archive.index_dir)
    assert (len(found.missing), found.pending) == (12, 1)
    with pytest.raises(IndexNotBuilt):
        archive.searcher().search("市民")
    repaired = repair(archive.reader, archive.index_dir)
    assert not repaired.consistent  # it reports what it found …
    assert check(archive.reader, archive.index_dir).consistent  # … and fixed it
    assert archive.searcher().search("市民").total == 4


def test_the_next_ingest_applies_work_left_by_a_crash(
    archive: Archive, sample_bytes: bytes, sample_text: str
) -> None:
    archive.store(sample_bytes)
    archive.ingest(variants.added_measure(sample_text), fiscal_year=2021)
    assert check(archive.reader, archive.index_dir).consistent
    assert archive.searcher().search("RPA").total == 2


def test_replacing_a_report_replaces_its_entries(
    archive: Archive, sample_bytes: bytes, sample_text: str
) -> None:
    archive.ingest(sample_bytes)
    archive.ingest(variants.dropped_measure(sample_text, "05"))
    assert check(archive.reader, archive.index_dir).consistent
    assert archive.searcher().search("タブレット 高齢者").total == 0
    assert archive.searcher().search("市民").total == 4


def test_a_refused_file_leaves_the_index_alone(archive: Archive, sample_bytes: bytes) -> None:
    archive.ingest(sample_bytes)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    before = latest(folder)
    with pytest.raises(DocumentRefused):
        archive.ingest(b"\x00binary")
    with pytest.raises(DocumentRefused):  # refused by the store, after reading it
        archive.ingest(" 日立市 概要版 \n令和２年度の取組。\n".encode())
    after = latest(folder)
    assert before == after
    assert check(archive.reader, archive.index_dir).consistent


def test_check_finds_stale_and_missing_entries(archive: Archive, sample_bytes: bytes) -> None:
    archive.ingest(sample_bytes)
    with archive.engine.begin() as connection:
        connection.execute(text("UPDATE measures SET title = '地震対策の推進' WHERE number = '04'"))
    folder = current_dir(archive.index_dir)
    assert folder is not None
    writer = open_writer(folder, timeout=5)
    delete_keys(writer, [f"m{_measure_id(archive, '05')}"])
    writer.commit()
    found = check(archive.reader, archive.index_dir)
    assert found.stale == [f"m{_measure_id(archive, '04')}"]
    assert found.missing == [f"m{_measure_id(archive, '05')}"]
    repair(archive.reader, archive.index_dir)
    assert check(archive.reader, archive.index_dir).consistent
    assert archive.searcher().search("地震").total == 1


def _measure_id(archive: Archive, number: str) -> int:
    with archive.engine.connect() as connection:
        value = connection.execute(
            text("SELECT id FROM measures WHERE number = :n"), {"n": number}
        ).scalar()
    assert isinstance(value, int)
    return value


def test_rebuild_builds_beside_and_searches_keep_working(
    archive: Archive, sample_bytes: bytes
) -> None:
    archive.ingest(sample_bytes)
    searcher = archive.searcher()
    old = searcher.search("市民")
    built = rebuild(archive.reader, archive.index_dir)
    assert (built.documents, built.rows) == (1, 12)
    new = searcher.search("市民")  # the same searcher moves to the new generation
    assert new.generation != old.generation
    assert new.total == old.total == 4
    assert check(archive.reader, archive.index_dir).consistent


def test_one_writer_at_a_time(archive: Archive, sample_bytes: bytes, sample_text: str) -> None:
    archive.ingest(sample_bytes)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    holder = open_writer(folder, timeout=5)
    try:
        archive.store(variants.added_measure(sample_text), fiscal_year=2021)
        with pytest.raises(IndexBusy):
            apply_pending(archive.reader, archive.index_dir, timeout=0.2)
        assert check(archive.reader, archive.index_dir).pending == 1  # the work stays queued
    finally:
        holder.cancel()
    apply_pending(archive.reader, archive.index_dir)
    assert check(archive.reader, archive.index_dir).consistent


def test_a_search_sees_the_index_before_or_after_an_ingest(
    archive: Archive, sample_bytes: bytes, sample_text: str
) -> None:
    archive.ingest(sample_bytes)
    searcher = archive.searcher()
    with searcher.snapshot() as before:
        archive.ingest(variants.added_measure(sample_text), fiscal_year=2021)
        assert before.count == 12  # an open snapshot never changes under a reader
        with searcher.snapshot() as after:
            assert after.count == 25
    assert before.retired
    assert searcher.search("RPA").total == 2


def test_a_rebuild_keeps_the_generation_before_it_and_removes_unfinished_ones(
    archive: Archive, sample_bytes: bytes
) -> None:
    """What a killed rebuild leaves (a newer, unfinished generation) goes with the next
    rebuild; the generation searches used until the switch stays for those still reading."""
    archive.ingest(sample_bytes)
    before = current_dir(archive.index_dir)
    assert before is not None
    unfinished = archive.index_dir / "g9999999999999999999"
    unfinished.mkdir()
    (unfinished / "MAIN_dead0000.pst").write_bytes(b"partial")
    rebuild(archive.reader, archive.index_dir)
    after = current_dir(archive.index_dir)
    assert after is not None
    assert {p.name for p in archive.index_dir.glob("g*")} == {before.name, after.name}
    assert archive.searcher().search("市民").total == 4
