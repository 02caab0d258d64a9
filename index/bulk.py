"""Writing Whoosh segments in bulk: Whoosh's own writer and codec, fed by numpy.

Whoosh's ``SegmentWriter`` runs every posting through Python (a pool, an external sort, one
``add`` call each): about 300 entries/s. ``BulkWriter`` is a ``SegmentWriter`` that keeps
everything else of it (the write lock, per-document values through the codec's
``W3PerDocWriter``, the segment, the TOC, deletions, merge policies) and replaces only the
way postings reach the codec: entries arrive with their tokens counted, postings are sorted
with numpy, and each term is written block by block through the codec's own
``W3FieldWriter`` and ``W3PostingsWriter``, whose block buffers are filled from arrays. The
index reads back exactly as one written by ``add_document`` (``tests/index/test_bulk.py``
builds the same entries both ways and compares them term by term).

Merges go the same way: a merge policy (``merge_tiers``) hands segments to ``add_reader``,
which takes their postings from the derived arrays (``index/derived.py``) instead of
decoding them posting by posting, and copies their stored values as the column holds them.

Whoosh writes without syncing and deletes a replaced commit's files at once. Here every file
is synced when it is closed and the TOC is renamed into place only after (``DurableStorage``),
and the commit before the newest is kept with its files, for searches that have just read
its TOC.

This depends on Whoosh internals (``SegmentWriter``'s steps, the codec's writers and block
buffer, the stored column; the list is in ``docs/decisions/0007``), which is why
``pyproject.toml`` pins whoosh-reloaded and ``tests/index/test_bulk.py`` compares this
writer's index with ``add_document``'s byte for byte.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import struct
from array import array
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import STORED_COLUMN, W3Codec, W3PostingsWriter
from whoosh.columns import VarBytesColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from archive import faults
from index import derived
from index.fields import TEXT_FIELDS, Entry

Array = npt.NDArray[Any]

INDEX_NAME = "MAIN"  # Whoosh's default index name: open_dir(folder) finds it
# Postings per block. Whoosh's default is 128; with bigger blocks a segment is written about
# 30% faster (bench/whoosh_bench.py: fewer pickles and zlib calls per common term).
BLOCK_LIMIT = 4096
TIER_SIZE = 8  # this many segments of one size tier are merged into one
_PACK_AT = 1 << 20  # postings buffered in Python lists before they move to numpy arrays
SMALL_BLOCK = 48  # blocks of up to this many postings are made compact in plain Python
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)
_SEGMENT_FILE = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.")
_TOC_FILE = re.compile(rf"^_{INDEX_NAME}_(\d+)\.toc$")
_TOC_TEMPORARY = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.")


def codec(blocklimit: int = BLOCK_LIMIT) -> W3Codec:
    return W3Codec(blocklimit=blocklimit)


def latest(folder: Path) -> int:
    """The newest commit's generation in ``folder`` (-1 when there is none), from file names."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return -1
    return max((int(m.group(1)) for m in map(_TOC_FILE.match, names) if m), default=-1)


class DurableStorage(FileStorage):  # type: ignore[misc]  # whoosh is untyped
    """A Whoosh ``FileStorage`` whose files reach the disk before a commit names them.

    Every file it creates is synced when closed, and a rename (how Whoosh puts a TOC in
    place) is followed by a sync of the folder, so after a crash the newest TOC and
    everything it names are whole.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._opened: list[Any] | None = None

    def create_file(self, name: str, excl: bool = False, mode: str = "wb", **kwargs: Any) -> Any:
        created = super().create_file(name, excl=excl, mode=mode, onclose=_sync, **kwargs)
        if self._opened is not None:
            self._opened.append(created)
        return created

    def open_file(self, name: str, **kwargs: Any) -> Any:
        opened = super().open_file(name, **kwargs)
        if self._opened is not None:
            self._opened.append(opened)
        return opened

    @contextlib.contextmanager
    def closing_on_failure(self) -> Iterator[None]:
        """Files opened or created inside are closed if it fails: Whoosh leaves them open
        when a reader or writer fails half-way (a damaged segment, a full disk)."""
        self._opened = []
        try:
            yield
        except BaseException:
            for opened in self._opened:
                if not opened.is_closed:
                    with contextlib.suppress(Exception):
                        opened.close()
            raise
        finally:
            self._opened = None

    def open_segment(self, schema: Any, segment: Any) -> SegmentReader:
        """A reader of ``segment`` (its files closed again if it cannot be read)."""
        with self.closing_on_failure():
            return SegmentReader(self, schema, segment)

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        super().rename_file(oldname, newname, safe=safe)
        sync_folder(Path(self.folder))


def _sync(structfile: Any) -> None:
    structfile.file.flush()
    os.fsync(structfile.file.fileno())


def sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _BlockPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    """Whoosh's postings writer with its block buffer filled from a field's arrays, a block
    at a time.

    ``fill`` sets what ``add_posting`` would have gathered one posting at a time; the
    block is then written by Whoosh's own ``_write_block``. The ids and weights are made
    compact to the same values Whoosh's Python loops produce: with numpy for a large block,
    in plain Python for a small one (most terms are rare, and numpy's overhead per call
    would cost more than the work)."""

    def __init__(
        self,
        postfile: Any,
        blocklimit: int,
        compression: int,
        postings: derived.Postings,
        lengths: Array | None,
        frequency_values: bool,
        small_block: int = SMALL_BLOCK,
    ) -> None:
        super().__init__(postfile, blocklimit=blocklimit, compression=compression)
        self._small_block = small_block
        self._docs, self._freqs, self._lengths = postings.docs, postings.freqs, lengths
        self._frequency_values = frequency_values  # Frequency format: the count as a uint
        self._small: tuple[list[int], list[int]] | None = None

    def fill(self, first: int, last: int) -> None:
        """Take the postings ``first:last`` of the field's arrays as the next block."""
        self._minlength: int | None = None
        self._maxlength = 0
        if last - first <= self._small_block:
            ids = self._docs[first:last].tolist()
            counts = self._freqs[first:last].tolist()
            self._small = (ids, counts)
            self._ids = array("I", ids)
            self._weights = array("f", counts)
            self._maxweight = float(max(counts))
            values = struct.pack(f">{len(counts)}I", *counts) if self._frequency_values else b""
            if self._lengths is not None:
                lengths = [n for n in self._lengths[first:last].tolist() if n]
                if lengths:
                    self._minlength, self._maxlength = min(lengths), max(lengths)
        else:
            self._small = None
            ids_array, counts_array = self._docs[first:last], self._freqs[first:last]
            self._np_ids, self._np_weights = ids_array, counts_array.astype(np.float32)
            self._ids = array("I", ids_array.astype(np.uint32).tobytes())
            self._weights = array("f", self._np_weights.tobytes())
            self._maxweight = float(counts_array.max())
            values = counts_array.astype(">u4").tobytes() if self._frequency_values else b""
            if self._lengths is not None:
                lengths_array = self._lengths[first:last]
                lengths_array = lengths_array[lengths_array > 0]
                if len(lengths_array):
                    self._minlength = int(lengths_array.min())
                    self._maxlength = int(lengths_array.max())
        self._values = [values] if values else []

    def _mini_ids(self) -> tuple[int, ...]:
        if self._small is not None:
            ids = self._small[0]
            return (ids[0], *(b - a for a, b in itertools.pairwise(ids)))
        return tuple(np.diff(self._np_ids.astype(np.int64), prepend=0).tolist())

    def _mini_weights(self) -> Any:
        if self._small is not None:
            counts = self._small[1]
            if all(c == 1 for c in counts):
                return None
            if all(c == counts[0] for c in counts):
                return float(counts[0])
            return tuple(map(float, counts))
        weights = self._np_weights
        if (weights == 1.0).all():
            return None
        if (weights == weights[0]).all():
            return float(weights[0])
        return tuple(weights.tolist())


class _FieldPostings:
    """One field's postings while a segment is written: terms numbered as they come, and
    (term number, entry number, frequency) triples, in Python lists and then numpy chunks."""

    def __init__(self, text: bool) -> None:
        self.text = text  # terms are str (our tokens) rather than Whoosh's bytes
        self.vocabulary: dict[Any, int] = {}
        self.term_ids: list[int] = []
        self.docs: list[int] = []
        self.freqs: list[int] = []
        self.chunks: list[tuple[Array, Array, Array]] = []

    def add(self, docnum: int, counts: Mapping[Any, int]) -> None:
        vocabulary = self.vocabulary
        ids: list[Any] = list(map(vocabulary.get, counts))  # in C; most terms are known
        if None in ids:
            for i, term in enumerate(counts):
                if ids[i] is None:
                    ids[i] = vocabulary[term] = len(vocabulary)
        self.term_ids += ids
        self.freqs += counts.values()
        self.docs += [docnum] * len(ids)
        if len(self.docs) >= _PACK_AT:
            self._pack()

    def add_arrays(self, terms: list[bytes], term_ids: Array, docs: Array, freqs: Array) -> None:
        """Postings of another segment's terms (``term_ids`` index ``terms``)."""
        vocabulary = self.vocabulary
        keys = [t.decode("utf-8") for t in terms] if self.text else terms
        ours = np.array(
            [vocabulary.setdefault(key, len(vocabulary)) for key in keys], dtype=np.int64
        )
        self._pack()
        self.chunks.append((ours[term_ids], docs.astype(np.int32), freqs.astype(np.int32)))

    def _pack(self) -> None:
        if self.docs:
            self.chunks.append(
                (
                    np.array(self.term_ids, dtype=np.int64),
                    np.array(self.docs, dtype=np.int32),
                    np.array(self.freqs, dtype=np.int32),
                )
            )
            self.term_ids, self.docs, self.freqs = [], [], []

    def postings(self) -> derived.Postings:
        """The postings in Whoosh's order: terms by their bytes, each term's entries
        ascending (they were added in entry order)."""
        self._pack()
        terms = [t.encode("utf-8") for t in self.vocabulary] if self.text else list(self.vocabulary)
        order = sorted(range(len(terms)), key=terms.__getitem__)
        rank = np.empty(len(terms), dtype=np.int64)
        rank[order] = np.arange(len(terms))
        if self.chunks:
            ranks = rank[np.concatenate([c[0] for c in self.chunks])]
            docs = np.concatenate([c[1] for c in self.chunks])
            freqs = np.concatenate([c[2] for c in self.chunks])
        else:
            ranks = np.zeros(0, dtype=np.int64)
            docs = freqs = np.zeros(0, dtype=np.int32)
        self.chunks = []
        by_term = np.argsort(ranks, kind="stable")
        sizes = np.bincount(ranks, minlength=len(terms))
        held = sizes > 0  # a merged segment's term may have only deleted entries
        return derived.Postings(
            terms=[terms[i] for i, keep in zip(order, held.tolist(), strict=True) if keep],
            offsets=np.concatenate(([0], np.cumsum(sizes[held], dtype=np.int64))),
            docs=docs[by_term],
            freqs=freqs[by_term],
        )


class BulkWriter(SegmentWriter):  # type: ignore[misc]
    """The index's writer: Whoosh's ``SegmentWriter`` taking prepared entries in bulk.

    It takes Whoosh's write lock (waiting up to ``timeout`` seconds, never Whoosh's default
    of not waiting) and holds it until ``commit`` or ``cancel``.
    """

    def __init__(
        self,
        ix: Any,
        timeout: float,
        blocklimit: int = BLOCK_LIMIT,
        small_block: int = SMALL_BLOCK,
    ) -> None:
        try:
            with ix.storage.closing_on_failure():
                super().__init__(
                    ix, timeout=timeout, delay=0.05, codec=codec(blocklimit), compound=False
                )
        except BaseException:
            # Whoosh takes the lock first and then makes its writers: if those fail (no room
            # for a file, too many open), it leaves the lock held and a temporary file open.
            perdocwriter = getattr(self, "perdocwriter", None)
            if perdocwriter is not None:
                with contextlib.suppress(Exception):
                    perdocwriter._cols._temp.close()
            tempstorage = getattr(self, "_tempstorage", None)
            if tempstorage is not None:
                with contextlib.suppress(Exception):
                    tempstorage.destroy()
            lock = getattr(self, "writelock", None)
            if lock is not None and lock.fd is not None:
                lock.release()
            raise
        self.blocklimit, self.small_block = blocklimit, small_block
        self.folder = Path(self.storage.folder)
        self._fields = {
            name: (field, bool(field.stored), bool(field.indexed), bool(field.scorable))
            for name, field in self.schema.items()
        }
        if any(field.column_type for field, _, _, _ in self._fields.values()):
            self.cancel()  # add() writes no columns: a sortable field would differ silently
            raise ValueError("the bulk writer does not write sortable (column) fields")
        self._postings = {
            name: _FieldPostings(text=name in TEXT_FIELDS)
            for name, (_, _, indexed, _) in self._fields.items()
            if indexed
        }
        self._stored: list[dict[str, Any]] = []  # each added entry's stored values
        self._merged: list[tuple[derived.SegmentData, Array]] = []  # (segment, entries kept)
        self._length_bytes: dict[str, list[int]] = {name: [] for name in derived.SCORED}
        self._terms_of_value: dict[tuple[str, Any], dict[bytes, int]] = {}
        self._opened = {s.segment_id() for s in self.segments}  # the commit we started from
        self._data: dict[str, derived.SegmentData] = {}

    # -- what a commit holds ----------------------------------------------------------

    def segment_data(self, segment: Any) -> derived.SegmentData:
        """An existing segment's derived data (loaded, or derived again from Whoosh)."""
        found = self._data.get(segment.segment_id())
        if found is None:
            found = derived.load_or_build(
                self.folder,
                lambda: self.storage.open_segment(self.schema, segment),
                segment.segment_id(),
            )
            self._data[segment.segment_id()] = found
        return found

    def delete_documents(self, document_ids: Iterable[int]) -> None:
        """Delete every entry of these documents (Whoosh marks them in the next TOC)."""
        wanted = np.fromiter(document_ids, dtype=np.int64)
        for offset, segment in zip(self._doc_offsets, self.segments, strict=True):
            chosen = np.isin(self.segment_data(segment).document_id, wanted)
            for number in np.flatnonzero(chosen).tolist():
                self.delete_document(offset + number)

    # -- adding -----------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Add one entry, as ``add_document(**entry.fields)`` would."""
        self._check_state()
        if self._merged:
            raise RuntimeError("entries are added before segments are merged in")
        docnum = self.docnum
        writer = self.perdocwriter
        fields = entry.fields
        stored: dict[str, Any] = {}
        writer.start_doc(docnum)
        for name in sorted(fields):
            value = fields[name]
            if value is None or name.startswith("_"):
                continue
            field, is_stored, indexed, scorable = self._fields[name]
            length = 0
            if indexed:
                counts = entry.terms[name] if name in TEXT_FIELDS else self._terms(name, value)
                self._postings[name].add(docnum, counts)
                if scorable:
                    length = sum(counts.values())
            if is_stored:
                stored[name] = fields.get(f"_stored_{name}", value)
            writer.add_field(name, field, stored.get(name), length)
            if name in self._length_bytes:
                self._length_bytes[name].append(length_to_byte(length) if length else 0)
        for lengths in self._length_bytes.values():
            if len(lengths) == len(self._stored):  # the field is absent from this entry
                lengths.append(0)
        writer.finish_doc()
        self._stored.append(stored)
        self._added = True
        self.docnum += 1

    def _terms(self, name: str, value: Any) -> dict[bytes, int]:
        """The terms Whoosh indexes for ``value`` in field ``name``, with frequencies (the
        field's own ``index``: IDs, keywords, numbers in every precision)."""
        key = (name, value)
        found = self._terms_of_value.get(key)
        if found is None:
            found = {}
            for term, frequency, weight, _ in self._fields[name][0].index(value):
                if weight != frequency:
                    raise ValueError(f"field {name}: weights other than the frequency")
                found[term] = frequency
            self._terms_of_value[key] = found
        return found

    def add_reader(self, reader: Any) -> None:
        """Add a segment's live entries (a merge): postings from the segment's derived
        arrays, renumbered with numpy; stored values copied as Whoosh stored them (still
        compressed); the derived columns and text carried over."""
        self._check_state()
        segment = reader.segment()
        data = self.segment_data(segment)
        live = np.ones(data.count, dtype=bool)
        live[list(segment.deleted_docs())] = False
        kept = np.flatnonzero(live)
        renumbered = np.full(data.count, -1, dtype=np.int64)
        renumbered[kept] = self.docnum + np.arange(len(kept))
        writer = self.perdocwriter
        source = _raw_stored(reader._perdoc._cached_reader("_stored", STORED_COLUMN))
        target = writer._colwriters["_stored"]._child  # PickleColumn's CompressedBytes writer
        scored = [(name, self._fields[name][0], data.lengths[name]) for name in derived.SCORED]
        for number in kept.tolist():
            writer.start_doc(self.docnum)
            for name, field, lengths in scored:
                byte = int(lengths[number])
                writer.add_field(name, field, None, int(_LENGTH_OF_BYTE[byte]) if byte else 0)
                self._length_bytes[name].append(byte)
            writer.finish_doc()
            VarBytesColumn.Writer.add(target, self.docnum, source(number))
            self.docnum += 1
        for name, postings in data.postings.items():
            if name not in self._postings:
                continue
            term_ids = np.repeat(np.arange(len(postings.terms)), np.diff(postings.offsets))
            keep = live[postings.docs]
            self._postings[name].add_arrays(
                postings.terms,
                term_ids[keep],
                renumbered[postings.docs[keep]],
                postings.freqs[keep],
            )
        self._merged.append((data, kept))
        self._added = True

    # -- committing -------------------------------------------------------------------

    def _merge_segments(self, mergetype: Any, optimize: Any, merge: Any) -> list[Any]:
        """Whoosh's choice of merge policy, with ``merge_tiers`` where it would default to
        its own ``MERGE_SMALL`` (``commit(merge=False)``, ``optimize=True`` and a given
        ``mergetype`` keep their meaning)."""
        chosen = mergetype if mergetype is not None else self.mergetype
        optimized = optimize if optimize is not None else self.optimize
        merged = merge if merge is not None else self.merge
        if chosen is None and not optimized and merged:
            mergetype = merge_tiers
        result: list[Any] = super()._merge_segments(mergetype, optimize, merge)
        return result

    def cancel(self) -> None:
        """Give up what this writer holds, and its lock, also after a commit that failed
        half-way (a full disk): Whoosh's own cancel then fails on the half-closed writers.
        The files its new segment already had are removed: no TOC will ever name them."""
        try:
            self._cancel()
        finally:
            prefix = f"{self.newsegment.segment_id()}."
            for name in os.listdir(self.folder):
                if name.startswith(prefix):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(self.folder / name)

    def _cancel(self) -> None:
        try:
            super().cancel()
        except Exception:
            for writer in (self.perdocwriter, self.fieldwriter):
                if not writer.is_closed:
                    with contextlib.suppress(Exception):
                        writer.close()
            for leftover in (self.fieldwriter._postfile, self.fieldwriter._tindex.dbfile):
                if not leftover.is_closed:
                    with contextlib.suppress(Exception):
                        leftover.close()
            with contextlib.suppress(Exception):
                self._tempstorage.destroy()
            if self.writelock is not None and self.writelock.fd is not None:
                self.writelock.release()
            self.is_closed = True

    def _flush_segment(self) -> None:
        """Write the new segment: per-document values (already in the codec's per-document
        writer), then the postings, field by field in Whoosh's order, then the derived
        arrays beside it."""
        self.perdocwriter.close()
        lengths = {
            name: np.array(values, dtype=np.uint8) for name, values in self._length_bytes.items()
        }
        written = {}
        for name in sorted(self._postings):
            postings = self._postings[name].postings()
            if postings.terms:  # a field no entry holds is not in the segment, as in Whoosh
                self._write_field(name, postings, lengths.get(name))
                written[name] = postings
        self.fieldwriter.close()
        segment_id = self.newsegment.segment_id()
        files = derived.fingerprint(self.folder, derived.segment_files(self.folder, segment_id))
        added = len(self._stored)
        new = derived.from_parts(
            self._stored, {name: lengths[name][:added] for name in derived.SCORED}, {}, {}
        )
        data = derived.combine([(new, None), *self._merged], written, files)
        derived.write(self.folder, segment_id, data)

    def _write_field(self, name: str, postings: derived.Postings, lengths: Array | None) -> None:
        fieldwriter = self.fieldwriter
        field = self._fields[name][0]
        size = field.format.fixed_value_size()
        if size not in (0, 4):
            raise ValueError(f"field {name}: a posting format this writer does not know")
        fieldwriter.start_field(name, field)
        limit = self.blocklimit
        # The lengths Whoosh reads back for each posting's entry (its length byte, decoded).
        quantized = _LENGTH_OF_BYTE[lengths[postings.docs]] if lengths is not None else None
        writer = _BlockPostingsWriter(
            fieldwriter._postfile,
            limit,
            self.codec._compression,
            postings,
            quantized,
            frequency_values=size == 4,
            small_block=self.small_block,
        )
        fieldwriter._postwriter = writer
        offsets = postings.offsets.tolist()
        for number, term in enumerate(postings.terms):
            first, end = offsets[number], offsets[number + 1]
            fieldwriter.start_term(term)
            while True:
                last = min(first + limit, end)
                writer.fill(first, last)
                if last == end:
                    break
                writer._write_block()
                first = last
            fieldwriter.finish_term()
        fieldwriter.finish_field()

    def _commit_toc(self, segments: list[Any]) -> None:
        """Put the new TOC in place (durably: see ``DurableStorage``), then remove what
        neither it nor the commit before it needs."""
        faults.point("index-toc")
        TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)
        keep = {s.segment_id() for s in segments} | self._opened
        clean(self.folder, keep, self.generation)


def clean(folder: Path, keep: set[str], generation: int) -> None:
    """Remove TOCs older than the one before ``generation``, unfinished TOCs, and the files
    of every segment not in ``keep`` (a killed writer's leftovers included)."""
    for name in os.listdir(folder):
        toc = _TOC_FILE.match(name)
        segment = _SEGMENT_FILE.match(name)
        if (
            (toc is not None and int(toc.group(1)) < generation - 1)
            or _TOC_TEMPORARY.match(name)
            or (segment is not None and segment.group(1) not in keep)
        ):
            with contextlib.suppress(FileNotFoundError):
                os.remove(folder / name)


def _raw_stored(column: Any) -> Any:
    """A function giving an entry's stored values as the column holds them: pickled and
    compressed (``STORED_COLUMN`` is a PickleColumn around a CompressedBytesColumn)."""
    compressed = column._child
    return lambda number: VarBytesColumn.Reader.__getitem__(compressed, number)


def merge_tiers(writer: BulkWriter, segments: list[Any]) -> list[Any]:
    """A Whoosh merge policy: segments of similar size (a factor of ``TIER_SIZE`` apart)
    form a tier, and a tier of ``TIER_SIZE`` segments is merged into the segment being
    written, so each entry is rewritten about log8(total) times however the index grew.
    Segments whose every entry is deleted are dropped."""
    live = [s for s in segments if s.doc_count() > 0]
    tiers: dict[int, list[Any]] = {}
    for segment in live:
        tiers.setdefault(_tier(segment.doc_count()), []).append(segment)
    full = next((t for t in sorted(tiers) if len(tiers[t]) >= TIER_SIZE), None)
    if full is None:
        return live
    for segment in tiers[full]:
        reader = writer.storage.open_segment(writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [s for s in live if s not in tiers[full]]


def _tier(live: int) -> int:
    return int(math.log(max(live, 1), TIER_SIZE))
