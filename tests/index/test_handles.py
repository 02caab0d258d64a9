"""A long-lived searcher follows index commits and keeps its file handles bounded."""

from __future__ import annotations

import os
from pathlib import Path

from index.search import SearchOptions
from tests import variants
from tests.conftest import SAMPLE
from tests.index.conftest import Archive


def _open_files(root: Path) -> int:
    """This process's open files under ``root``: the test's own store and index. Other
    archives of the session (a browser test's server, whose follower looks at its store's
    log every second) open and close their own files meanwhile, and are not counted."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since it was listed
        found += target.startswith(f"{root}/")
    return found


def test_a_thousand_searches_across_ten_commits_leak_no_handles(archive: Archive) -> None:
    """Each commit may add a segment (more files to hold open), but a searcher holds only
    what its newest snapshot needs: no more handles than a fresh searcher of the same index."""
    text = SAMPLE.read_text(encoding="utf-8")
    archive.ingest(variants.other_city(text, 0), "r0.txt")
    without = _open_files(archive.index_dir.parent)
    searcher = archive.searcher()
    for search in range(1_000):
        if search % 100 == 99:  # a commit: the next search must see it
            archive.ingest(variants.other_city(text, search), f"r{search}.txt")
        found = searcher.search("人事評価", SearchOptions(limit=1))
        assert found.total == search // 100 + 1 + (search % 100 == 99), search
    long_lived = _open_files(archive.index_dir.parent) - without
    searcher.close()
    fresh = archive.searcher()
    fresh.search("人事評価")
    needed = _open_files(archive.index_dir.parent) - without
    fresh.close()
    assert needed > 0  # a searcher holds files of the index: what is counted is real
    assert long_lived <= needed
    assert _open_files(archive.index_dir.parent) <= without


def test_a_replaced_snapshot_is_freed_and_the_new_one_kept_out_of_gc(archive: Archive) -> None:
    """Snapshots are moved out of the garbage collector's reach (gc.freeze), but the one an
    index commit replaces must still be freed, or every commit would leak one."""
    import gc
    import weakref

    text = SAMPLE.read_text(encoding="utf-8")
    archive.ingest(variants.other_city(text, 0), "r0.txt")
    searcher = archive.searcher()
    with searcher.snapshot() as first:
        old = weakref.ref(first)
    assert gc.get_freeze_count() > 0
    archive.ingest(variants.other_city(text, 1), "r1.txt")
    assert searcher.search("人事評価").total == 2  # a new snapshot replaced the first
    del first
    assert old() is None
    searcher.close()
