"""Commits of the Whoosh index: merges keep every entry, and a killed writer's leftovers go."""

from __future__ import annotations

import os

from index.bulk import TIER_SIZE
from index.writing import check, current_dir, open_index, open_writer
from tests.index.conftest import Archive


def test_many_commits_are_merged_and_lose_nothing(archive: Archive, sample_text: str) -> None:
    """Twenty years of one report, one commit each: size tiers merge (at most 8 segments of
    a tier), and every entry is still found exactly as the store holds it."""
    for year in range(2000, 2020):
        text = f"{sample_text}\n備考 {year}\n"  # another file each year
        archive.ingest(text.encode(), name=f"{year}.txt", fiscal_year=year)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    segments = open_index(folder)._segments()
    assert len(segments) < TIER_SIZE + 1  # 20 commits, merged by tiers
    assert check(archive.reader, archive.index_dir).consistent  # every entry, as stored
    one_year = archive.searcher().search("市民 fiscalYear:2000").total
    assert one_year > 0
    assert archive.searcher().search("市民").total == 20 * one_year


def test_a_killed_writers_files_are_removed_by_the_next_commit(
    archive: Archive, sample_bytes: bytes
) -> None:
    archive.ingest(sample_bytes)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    # What a writer killed before its commit leaves: a segment's files and a temporary TOC.
    leftovers = ("MAIN_dead0000.pst", "MAIN_dead0000.derived", "_MAIN_99.toc.1764000000.5")
    for leftover in leftovers:
        (folder / leftover).write_bytes(b"partial")
    searcher = archive.searcher()
    assert searcher.search("市民").total > 0  # readers never look at them
    writer = open_writer(folder, timeout=5)
    writer.commit()
    names = set(os.listdir(folder))
    assert not set(leftovers) & names
    assert check(archive.reader, archive.index_dir).consistent


def test_a_cancelled_writer_leaves_no_files(archive: Archive, sample_bytes: bytes) -> None:
    """Whoosh's writer creates its new segment's files when it starts; cancelled (a rebuild
    only holding the lock, an apply with nothing to do), none of them stays."""
    archive.ingest(sample_bytes)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    before = set(os.listdir(folder))
    open_writer(folder, timeout=5).cancel()
    assert set(os.listdir(folder)) == before
