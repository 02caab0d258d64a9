"""What each lever of the Whoosh index gives, measured side by side in one process.

    .venv/bin/python bench/whoosh_bench.py --entries 10000

On synthetic entries (``search_bench.synthetic_rows``, prepared once by ``index/fields.entry``),
each way of writing the same index is timed (the best of ``--repeats`` interleaved runs),
as entries/s and as a ratio to Whoosh's own ``add_document`` (the reference, run first in
the same process):

- Whoosh's ``add_document`` through a stock ``SegmentWriter`` (the reference);
- the bulk writer as shipped (``index/bulk.py``), and with one lever undone at a time:
  Whoosh's default block of 128 postings, numpy for every block (no plain-Python path for
  small ones), the garbage collector left running;
- merging 8 segments into one: Whoosh's own merge (``add_reader`` posting by posting) and
  the bulk writer's (derived arrays, stored values copied compressed);
- opening a segment for searches: its derived file, and deriving it again from Whoosh alone.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_bench import synthetic_rows
from whoosh.index import FileIndex
from whoosh.writing import OPTIMIZE, SegmentWriter

from index import derived
from index.bulk import INDEX_NAME, BulkWriter, DurableStorage, codec
from index.fields import Entry, entry, schema


def fresh(folder: Path) -> FileIndex:
    folder.mkdir(parents=True)
    return FileIndex.create(DurableStorage(str(folder)), schema(), INDEX_NAME)


def stock(ix: FileIndex, entries: list[Entry]) -> None:
    writer = SegmentWriter(ix, timeout=5, codec=codec(), compound=False)
    for one in entries:
        writer.add_document(**one.fields)
    writer.commit(merge=False)


def bulk(ix: FileIndex, entries: list[Entry], **options: int) -> None:
    writer = BulkWriter(ix, timeout=5, **options)
    for one in entries:
        writer.add(one)
    writer.commit(merge=False)


def timed(run: Callable[[], object], collector: bool = False) -> float:
    """Seconds ``run`` takes, with the collector paused as the index's writers pause it."""
    gc.collect()
    if not collector:
        gc.disable()
    started = time.perf_counter()
    try:
        run()
    finally:
        gc.enable()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each bulk variant")
    arguments = parser.parse_args()
    count, repeats = arguments.entries, arguments.repeats
    entries = [entry(row) for row in synthetic_rows(count)]
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        runs: dict[str, float] = {}
        made = iter(range(1_000_000))

        def write(name: str, run: Callable[[FileIndex], object], **options: bool) -> None:
            """Keep the best of the repeats: the machine is shared, and noise only adds."""
            ix = fresh(root / f"w{next(made)}")
            seconds = timed(lambda: run(ix), **options)
            runs[name] = min(runs.get(name, seconds), seconds)

        write("Whoosh add_document (reference)", lambda ix: stock(ix, entries))
        for _ in range(repeats):  # interleaved, so a slow spell of the machine hits them all
            write("bulk writer (as shipped)", lambda ix: bulk(ix, entries))
            write(
                "  with Whoosh's 128-posting blocks", lambda ix: bulk(ix, entries, blocklimit=128)
            )
            write("  with numpy for every block", lambda ix: bulk(ix, entries, small_block=0))
            write("  with the collector running", lambda ix: bulk(ix, entries), collector=True)
        reference = runs["Whoosh add_document (reference)"]
        print(f"== writing {count:,} entries (prepared) ==")
        for name, seconds in runs.items():
            print(f"{name:40s} {count / seconds:8,.0f} entries/s  {reference / seconds:5.1f}x")

        eighth = max(count // 8, 1)
        parts = [entries[i * eighth : (i + 1) * eighth] for i in range(8)]
        merges: list[tuple[str, float]] = []
        for name, writer_class in (
            ("Whoosh's merge (reference)", SegmentWriter),
            ("bulk writer's merge", BulkWriter),
        ):
            ix = fresh(root / f"m{len(merges)}")
            for part in parts:
                bulk(ix, part)
            options = {"codec": codec(), "compound": False} if writer_class is SegmentWriter else {}
            writer = writer_class(ix, timeout=5, **options)
            merges.append((name, timed(lambda w=writer: w.commit(mergetype=OPTIMIZE))))
        merged = 8 * eighth
        print(f"== merging 8 segments of {eighth:,} entries into one ==")
        for name, seconds in merges:
            ratio = merges[0][1] / seconds
            print(f"{name:40s} {merged / seconds:8,.0f} entries/s  {ratio:5.1f}x")

        ix = fresh(root / "open")
        bulk(ix, entries)
        (segment,) = ix._segments()
        folder = root / "open"
        loaded = timed(lambda: derived.load(folder, segment.segment_id()))

        def rebuild() -> None:
            reader = ix.storage.open_segment(ix.schema, segment)
            try:
                derived.build(reader, folder)
            finally:
                reader.close()

        built = timed(rebuild)
        print(f"== opening a segment of {count:,} entries for searches ==")
        print(f"{'its derived file':40s} {loaded:8.3f} s")
        print(f"{'derived again from Whoosh alone':40s} {built:8.3f} s  {built / loaded:5.0f}x")


if __name__ == "__main__":
    main()
