"""The bulk writer writes what Whoosh's own writer writes, and plain Whoosh reads it.

``index/bulk.py`` feeds Whoosh's codec through its internals; these tests build the same
entries both ways (``add_document`` and the bulk path) and compare the two indexes file by
file and term by term, so a Whoosh release that changes those internals fails here.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import FileIndex, open_dir
from whoosh.qparser import QueryParser
from whoosh.query import And, NumericRange, Term
from whoosh.writing import OPTIMIZE, SegmentWriter

from archive.queries import IndexRow, document_ids, index_rows
from index import derived
from index.bulk import INDEX_NAME, SMALL_BLOCK, TIER_SIZE, BulkWriter, DurableStorage, codec
from index.fields import entry, schema
from index.search import Searcher, SearchOptions
from index.writing import current_dir, open_writer
from tests.conftest import REPORTS
from tests.index.conftest import Archive, delete_keys

BLOCK = 4  # small blocks, so that common terms span several of them

EDGE_ROWS = [
    IndexRow(  # a document archived without structure: no number, status or departments
        key="d900",
        kind="document",
        measure_id=None,
        document_id=900,
        municipality="ひたちなか市",
        fiscal_year=2018,
        number=None,
        status=None,
        departments=(),
        fields={"title": "概要版", "text": "Wi-Fi と LAN の整備。１２回 11,050件"},
    ),
    IndexRow(  # no title at all; a department name with a space and full-width forms
        key="m901",
        kind="measure",
        measure_id=901,
        document_id=901,
        municipality="葛飾区",
        fiscal_year=2021,
        number="01",
        status="完了",
        departments=("総務 課", "ＩＣＴ推進課"),
        fields={"title": "", "description": "planning and LAN", "achievement": "市"},
    ),
]


@pytest.fixture
def rows(archive: Archive) -> list[IndexRow]:
    for path in REPORTS:
        archive.store(path.read_bytes(), name=path.name)
    with archive.reader() as db:
        return [*index_rows(db, document_ids(db)), *EDGE_ROWS]


def _stock(folder: Path) -> FileIndex:
    folder.mkdir()
    return FileIndex.create(DurableStorage(str(folder)), schema(), INDEX_NAME)


def _stock_writer(ix: FileIndex) -> SegmentWriter:
    return SegmentWriter(ix, timeout=5, codec=codec(BLOCK), compound=False)


def _segment_files(folder: Path) -> dict[str, bytes]:
    """Each file of the index's one segment by its suffix (the segment id removed)."""
    (segment,) = FileIndex(DurableStorage(str(folder)))._segments()
    name = segment.segment_id()
    return {
        path.name.removeprefix(name): path.read_bytes()
        for path in folder.iterdir()
        if path.name.startswith(f"{name}.") and not path.name.endswith(derived.SUFFIX)
    }


def _terms(ix: FileIndex) -> Iterator[tuple[Any, ...]]:
    """Everything a reader tells of the index, term by term and entry by entry."""
    with ix.reader() as reader:
        yield ("documents", reader.doc_count(), reader.doc_count_all())
        for name in ("all", "title"):
            yield ("length", name, reader.field_length(name))
        for fieldname, term in reader.all_terms():
            info = reader.term_info(fieldname, term)
            postings = reader.postings(fieldname, term)
            yield (
                fieldname,
                term,
                info.doc_frequency(),
                info.weight(),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
                list(postings.items_as("weight")),
            )
        for docnum, stored in reader.iter_docs():
            lengths = [reader.doc_field_length(docnum, name) for name in ("all", "title")]
            yield ("entry", docnum, stored, lengths)


@pytest.mark.parametrize("small_block", [0, SMALL_BLOCK], ids=["numpy", "python"])
def test_the_bulk_path_writes_what_add_document_writes(
    tmp_path: Path, rows: list[IndexRow], small_block: int
) -> None:
    """Blocks are made compact with numpy or in plain Python by their size: both ways."""
    entries = [entry(row) for row in rows]
    stock = _stock(tmp_path / "stock")
    writer = _stock_writer(stock)
    for one in entries:
        writer.add_document(**one.fields)
    writer.commit()
    bulk = _stock(tmp_path / "bulk")
    writer = BulkWriter(bulk, timeout=5, blocklimit=BLOCK, small_block=small_block)
    for one in entries:
        writer.add(one)
    writer.commit()
    assert list(_terms(bulk)) == list(_terms(stock))
    # Byte for byte: the term table, the postings, the stored values and lengths.
    assert _segment_files(tmp_path / "bulk") == _segment_files(tmp_path / "stock")


def test_merges_and_deletions_agree_with_whooshs_own(tmp_path: Path, rows: list[IndexRow]) -> None:
    """Three commits, some entries deleted, then everything merged into one segment: by
    Whoosh's own writer, and by the bulk writer's numpy path."""
    entries = [entry(row) for row in rows]
    thirds = [entries[0::3], entries[1::3], entries[2::3]]
    deleted = {entries[4].key, entries[7].key}
    stock = _stock(tmp_path / "stock")
    for part in thirds:
        writer = _stock_writer(stock)
        for one in part:
            writer.add_document(**one.fields)
        writer.commit(merge=False)
    writer = _stock_writer(stock)
    with stock.reader() as reader:
        for docnum, stored in reader.iter_docs():
            if stored["key"] in deleted:
                writer.delete_document(docnum)
    writer.commit(mergetype=OPTIMIZE)
    bulk = _stock(tmp_path / "bulk")
    for part in thirds:
        writer = BulkWriter(bulk, timeout=5, blocklimit=BLOCK)
        for one in part:
            writer.add(one)
        writer.commit(merge=False)
    writer = BulkWriter(bulk, timeout=5, blocklimit=BLOCK)
    delete_keys(writer, deleted)
    writer.commit(mergetype=OPTIMIZE)
    assert len(bulk._segments()) == len(stock._segments()) == 1
    assert list(_terms(bulk)) == list(_terms(stock))


@pytest.mark.parametrize("merge", ["none", "with an entry", "alone"])
def test_derived_arrays_are_whoosh_s_postings(
    tmp_path: Path, rows: list[IndexRow], merge: str
) -> None:
    """What the writer derives beside a segment, written or merged (with a new entry, or
    in a commit that adds none), is what is derived from Whoosh alone."""
    ix = _stock(tmp_path / "index")
    entries = [entry(row) for row in rows]
    for part in (entries[::2], entries[1::2]) if merge != "none" else (entries,):
        writer = BulkWriter(ix, timeout=5, blocklimit=BLOCK)
        for one in part:
            writer.add(one)
        writer.commit(merge=False)
    if merge != "none":  # two entries deleted, and everything in one segment
        writer = BulkWriter(ix, timeout=5, blocklimit=BLOCK)
        delete_keys(writer, [entries[0].key, entries[5].key])
        if merge == "with an entry":
            writer.add(entries[0])
        writer.commit(mergetype=OPTIMIZE)
    (segment,) = ix._segments()
    written = derived.load(tmp_path / "index", segment.segment_id(), verify=True)
    with ix.reader() as reader:
        rebuilt = derived.build(reader, tmp_path / "index")
    assert _plain(written) == _plain(rebuilt)


def _plain(data: derived.SegmentData) -> dict[str, Any]:
    """A derived segment as plain values, for comparison."""
    plain: dict[str, Any] = {}
    for name, value in vars(data).items():
        if name == "postings":
            value = {
                f: (p.terms, p.offsets.tolist(), p.docs.tolist(), p.freqs.tolist())
                for f, p in value.items()
            }
        elif name == "lengths":
            value = {f: a.tolist() for f, a in value.items()}
        elif isinstance(value, derived.Codes):  # each entry's value (codes may differ)
            value = [value.value(n) for n in range(len(value.codes))]
        elif hasattr(value, "tolist"):
            value = value.tolist()
        plain[name] = value
    return plain


def test_plain_whoosh_reads_the_archive_s_index(archive: Archive) -> None:
    """``open_dir`` on the current generation and a stock searcher: the same entries and
    counts as plan-archive's search, wherever a Whoosh query means the same."""
    for path in REPORTS:
        archive.ingest(path.read_bytes(), name=path.name)
    folder = current_dir(archive.index_dir)
    assert folder is not None
    ix = open_dir(str(folder))
    ours = Searcher(archive.index_dir)
    with ix.searcher() as searcher:
        assert searcher.doc_count() == ours.search("fiscalYear:2000..2100").total == 36

        def count(query: Any) -> int:
            return len(searcher.search(query, limit=None))

        assert count(Term("all", "市民")) == ours.search("市民").total == 12
        assert count(Term("title", "評価")) == ours.search("title:評価").total
        assert count(NumericRange("fiscal_year", 2020, 2021)) == 24
        assert count(Term("department", "秘書課")) == ours.search("department:秘書課").total
        both = And([Term("all", "市民"), NumericRange("fiscal_year", 2020, 2020)])
        assert count(both) == ours.search("市民 fiscalYear:2020").total == 4
        # The schema's analyzer splits a query as ours does: a two-character word is one term.
        parsed = QueryParser("all", ix.schema).parse("人事評価")
        assert count(parsed) >= ours.search("人事評価").total == 2
        # The same entries, by their stored keys.
        whoosh_hits = searcher.search(Term("all", "市民"), limit=None)
        our_hits = ours.search("市民", SearchOptions(limit=100)).hits
        assert {hit["key"] for hit in whoosh_hits} == {hit.key for hit in our_hits}
        assert {hit["fiscal_year"] for hit in whoosh_hits} == {2019, 2020, 2021}


def test_commit_keeps_whooshs_merge_options(tmp_path: Path, rows: list[IndexRow]) -> None:
    """``merge=False`` and ``optimize=True`` mean what they mean in Whoosh; only the default
    policy is ours (tiers)."""
    ix = _stock(tmp_path / "index")
    entries = [entry(row) for row in rows]
    for one in entries[:10]:
        writer = BulkWriter(ix, timeout=5)
        writer.add(one)
        writer.commit(merge=False)
    assert len(ix._segments()) == 10  # more than a full tier, left as asked
    writer = BulkWriter(ix, timeout=5)
    writer.commit(optimize=True)
    assert len(ix._segments()) == 1
    for one in entries[10 : 11 + TIER_SIZE]:  # the policy sees the segments before the new one
        writer = BulkWriter(ix, timeout=5)
        writer.add(one)
        writer.commit()
    # By default, tiers: the small segments merged once a tier of them was full.
    assert len(ix._segments()) < TIER_SIZE


def test_a_writer_that_cannot_start_leaves_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh takes its lock before it makes its writers; a full disk then must not leave
    the index locked for everyone after."""
    ix = _stock(tmp_path / "index")

    def no_room(*_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(W3Codec, "field_writer", no_room)
        with pytest.raises(OSError, match="No space"):
            open_writer(tmp_path / "index", timeout=0.1)
    open_writer(tmp_path / "index", timeout=0.1).cancel()  # not IndexBusy
    assert ix.doc_count() == 0
