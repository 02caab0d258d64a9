"""What searches derive from a Whoosh segment, as arrays: postings, columns, normalised text.

Whoosh stores the index; reading it per search is slow in Python (a common bigram's
postings take 12-23 ms to decode, and every stored value of 100,000 entries 3.9 s). So for
each segment the arrays a search needs are derived once and kept in one file beside the
segment's own, ``<segment id>.derived``:

- every field's postings as CSR arrays (the terms in Whoosh's order, offsets, entry numbers
  and frequencies), exactly the postings Whoosh holds;
- per entry: key, kind, document, measure, year, municipality, number, status,
  departments, and the text lengths BM25 needs, as numpy columns;
- the normalised text of every entry in one string, for exact matching;
- the size and CRC-32 of each of the segment's Whoosh files when it was derived, so
  ``check`` finds a truncated or damaged one.

A Whoosh segment never changes once written (deletions live in the TOC), so its derived file
is valid as long as the segment exists, and its name follows the segment's, which makes
Whoosh's own cleaning remove it with the segment. The bulk writer (``index/bulk.py``) writes
it with the segment; when it is missing or damaged, ``load_or_build`` derives it again from
Whoosh alone. The file is one header and aligned arrays, memory-mapped by searchers, so the
worker processes of a server share it through the page cache.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import pickle
import tempfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.reading import SegmentReader

from archive.errors import IndexProblem

Array = npt.NDArray[Any]

SUFFIX = ".derived"
_MAGIC = b"PAINDEX2"  # 2: the text in UTF-16, frequencies narrowed
_ALIGN = 64
DOCUMENT_SEPARATOR = "\u241d"  # between entries in the text (never in normalised text)
SCORED = ("all", "title")  # the fields whose lengths Whoosh keeps (length bytes)


class Damaged(IndexProblem, RuntimeError):
    """A file of the index is missing, truncated or cannot be read."""


@dataclass(frozen=True)
class Postings:
    """One field's postings: ``terms[i]`` is held by ``docs[offsets[i]:offsets[i + 1]]``
    (entry numbers in the segment, ascending) with frequencies ``freqs[...]``."""

    terms: list[bytes]
    offsets: Array
    docs: Array
    freqs: Array

    def lookup(self) -> dict[bytes, int]:
        return {term: i for i, term in enumerate(self.terms)}


@dataclass(frozen=True)
class Codes:
    """A column of a few distinct values: each entry's code (-1 for none) and the values."""

    codes: Array  # int32
    values: list[Any]

    def value(self, number: int) -> Any:
        code = int(self.codes[number])
        return None if code < 0 else self.values[code]

    def sort_keys(self, missing: Any) -> Array:
        """Each entry's rank of its value among the values (``missing`` standing for none)."""
        names = [*self.values, missing]
        order = sorted(range(len(names)), key=names.__getitem__)
        rank = np.empty(len(names), dtype=np.int64)
        rank[order] = np.arange(len(names))
        return rank[self.codes]  # -1 indexes the last: ``missing``


@dataclass(frozen=True)
class SegmentData:
    """Everything a search needs of one segment, by entry number in the segment."""

    count: int
    keys: list[str]
    kind: Codes
    number: Codes
    municipality: Codes
    status: Codes
    department_entry: Array  # int32: (entry, department) pairs, an entry's in order
    department: Codes  # the department of each pair, as printed
    document_id: Array  # int64
    measure_id: Array  # int64, -1 for a document's entry
    fiscal_year: Array  # int64
    title_length: Array  # int64, characters of the normalised title
    text_start: Array  # int64, where each entry's text starts in ``text``
    text: str  # every entry's normalised fields, DOCUMENT_SEPARATOR between entries
    lengths: dict[str, Array]  # Whoosh's length byte of each entry per scored field
    postings: dict[str, Postings]
    files: dict[str, list[int]]  # the segment's Whoosh files: name -> [size, CRC-32]

    def text_ends(self) -> Array:
        """Where each entry's text ends in ``text`` (the next one's start, less the separator)."""
        return np.append(self.text_start[1:] - 1, len(self.text))

    def text_of(self, number: int) -> str:
        """Entry ``number``'s normalised fields, joined by the field separator."""
        start = int(self.text_start[number])
        last = number + 1 == self.count
        return self.text[start : len(self.text) if last else int(self.text_start[number + 1]) - 1]


_CODED = ("kind", "number", "municipality", "status", "department")


def _codes(values: Iterable[Any]) -> Codes:
    numbering: dict[Any, int] = {}
    codes = [-1 if v is None else numbering.setdefault(v, len(numbering)) for v in values]
    return Codes(np.array(codes, dtype=np.int32), list(numbering))


def from_parts(
    stored: Sequence[Mapping[str, Any]],
    lengths: Mapping[str, Array],
    postings: Mapping[str, Postings],
    files: dict[str, list[int]],
) -> SegmentData:
    """The derived data of a segment from its stored values (by entry number), length
    bytes and postings: the one constructor for both the writer and a rebuild from Whoosh."""
    from index.fields import SEPARATOR  # fields imports analysis; keep this module light

    count = len(stored)
    texts = [SEPARATOR.join(s["normalized"].values()) for s in stored]
    starts = np.zeros(count, dtype=np.int64)
    if count:
        np.cumsum([len(t) + 1 for t in texts[:-1]], out=starts[1:])
    pairs = [(n, name) for n, s in enumerate(stored) for name in s.get("department", ())]
    return SegmentData(
        count=count,
        keys=[s["key"] for s in stored],
        kind=_codes(s["kind"] for s in stored),
        number=_codes(s.get("number") for s in stored),
        municipality=_codes(s["municipality"] for s in stored),
        status=_codes(s.get("status") for s in stored),
        department_entry=np.array([n for n, _ in pairs], dtype=np.int32),
        department=_codes(name for _, name in pairs),
        document_id=np.array([s["document_id"] for s in stored], dtype=np.int64),
        measure_id=np.array([s.get("measure_id", -1) for s in stored], dtype=np.int64),
        fiscal_year=np.array([s["fiscal_year"] for s in stored], dtype=np.int64),
        title_length=np.array(
            [len(s["normalized"].get("title", "")) for s in stored], dtype=np.int64
        ),
        text_start=starts,
        text=DOCUMENT_SEPARATOR.join(texts),
        lengths={name: np.asarray(lengths[name], dtype=np.uint8) for name in SCORED},
        postings=dict(postings),
        files=files,
    )


def combine(
    parts: Sequence[tuple[SegmentData, Array | None]],
    postings: Mapping[str, Postings],
    files: dict[str, list[int]],
) -> SegmentData:
    """One segment's data made of the entries of ``parts`` in order (each part with the
    numbers of its entries to keep, None for all), with the given postings: a merge
    carries the columns and text of the merged segments over instead of deriving them again
    from their stored values."""
    chosen = [
        (data, np.arange(data.count) if kept is None else kept)
        for data, kept in parts
        if data.count and (kept is None or len(kept))  # an empty part adds nothing, no text
    ]
    texts: list[str] = []
    lengths_of_text = []
    for data, kept in chosen:
        starts, ends = data.text_start[kept], data.text_ends()[kept]
        lengths_of_text.append(ends - starts)
        if len(kept) == data.count:
            texts.append(data.text)
        else:
            spans = zip(starts.tolist(), ends.tolist(), strict=True)
            texts.extend(data.text[start:end] for start, end in spans)
    text_lengths = concatenate(lengths_of_text)
    text_start = np.zeros(len(text_lengths), dtype=np.int64)
    if len(text_lengths):
        np.cumsum(text_lengths[:-1] + 1, out=text_start[1:])
    base, entries, departments = 0, [], []
    for data, kept in chosen:
        renumbered = np.full(data.count, -1, dtype=np.int64)
        renumbered[kept] = base + np.arange(len(kept))
        pairs = renumbered[data.department_entry] >= 0
        entries.append(renumbered[data.department_entry][pairs])
        departments.append((data.department, pairs))
        base += len(kept)

    def codes(name: str) -> Codes:
        return join_codes([(getattr(data, name), kept) for data, kept in chosen])

    def column(name: str) -> Array:
        return concatenate([getattr(data, name)[kept] for data, kept in chosen])

    return SegmentData(
        count=base,
        keys=[data.keys[n] for data, kept in chosen for n in kept.tolist()],
        kind=codes("kind"),
        number=codes("number"),
        municipality=codes("municipality"),
        status=codes("status"),
        department_entry=concatenate(entries, np.int32),
        department=join_codes(departments),
        document_id=column("document_id"),
        measure_id=column("measure_id"),
        fiscal_year=column("fiscal_year"),
        title_length=column("title_length"),
        text_start=text_start,
        text=DOCUMENT_SEPARATOR.join(texts),
        lengths={
            name: concatenate([data.lengths[name][kept] for data, kept in chosen])
            for name in SCORED
        },
        postings=dict(postings),
        files=files,
    )


def concatenate(arrays: Sequence[Array], dtype: Any = None) -> Array:
    """``np.concatenate``, also of no arrays at all; cast to ``dtype`` when given."""
    joined = np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype or np.int64)
    return joined if dtype is None else joined.astype(dtype, copy=False)


def join_codes(parts: Sequence[tuple[Codes, Array | None]]) -> Codes:
    """Coded columns of several segments as one, their values numbered again; each with the
    entries to take (by index or mask; None for all)."""
    numbering: dict[Any, int] = {}
    codes = []
    for column, picked in parts:
        ours = [numbering.setdefault(v, len(numbering)) for v in column.values]
        recode = np.array([*ours, -1], dtype=np.int32)  # -1 (none) stays -1
        codes.append(recode[column.codes if picked is None else column.codes[picked]])
    return Codes(concatenate(codes, np.int32), list(numbering))


# -- the file ---------------------------------------------------------------------------


def path_of(folder: Path, segment_id: str) -> Path:
    return folder / f"{segment_id}{SUFFIX}"


def write(folder: Path, segment_id: str, data: SegmentData) -> None:
    """Write ``data`` beside the segment: to a temporary name, synced, then renamed."""
    arrays: dict[str, Array] = {
        **{f"codes.{name}": getattr(data, name).codes for name in _CODED},
        "department_entry": data.department_entry,
        "document_id": data.document_id,
        "measure_id": data.measure_id,
        "fiscal_year": data.fiscal_year,
        "title_length": data.title_length,
        "text_start": data.text_start,
        # UTF-16: two bytes a kanji or kana where UTF-8 takes three, and as fast to decode.
        "text": np.frombuffer(data.text.encode("utf-16-le"), dtype=np.uint8),
    }
    for name, value in data.lengths.items():
        arrays[f"lengths.{name}"] = value
    for name, postings in data.postings.items():
        arrays[f"offsets.{name}"] = postings.offsets
        arrays[f"docs.{name}"] = postings.docs
        # Frequencies are small: the narrowest type that holds them (most often one byte).
        widest = int(postings.freqs.max()) if len(postings.freqs) else 0
        arrays[f"freqs.{name}"] = postings.freqs.astype(np.min_scalar_type(widest))
    objects = pickle.dumps(
        {
            "keys": data.keys,
            "values": {name: getattr(data, name).values for name in _CODED},
            "terms": {name: p.terms for name, p in data.postings.items()},
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        arrays[name] = array
        layout[name] = [array.dtype.str, len(array), offset]
        offset = _aligned(offset + array.nbytes)
    body_crc = 0
    header = {
        "count": data.count,
        "arrays": layout,
        "objects": [offset, len(objects)],
        "files": data.files,
    }
    # A name of its own (two threads may derive the same segment), under the segment's
    # prefix, so Whoosh's cleaning and ours remove a killed writer's with the segment.
    descriptor, name = tempfile.mkstemp(prefix=f"{segment_id}{SUFFIX}.", suffix=".tmp", dir=folder)
    temporary = Path(name)
    with os.fdopen(descriptor, "wb") as handle:
        encoded = json.dumps(header).encode()
        start = _aligned(len(_MAGIC) + 8 + len(encoded) + 8)
        handle.write(_MAGIC + len(encoded).to_bytes(8, "little") + encoded)
        handle.write(b"\0" * (start - handle.tell() - 8))
        position = 0
        crc_at = handle.tell()
        handle.write(b"\0" * 8)  # the CRC of everything after it, filled in below
        for name, array in arrays.items():
            handle.write(b"\0" * (layout[name][2] - position))
            raw = array.view(np.uint8).tobytes() if array.nbytes else b""
            handle.write(raw)
            body_crc = zlib.crc32(b"\0" * (layout[name][2] - position), body_crc)
            body_crc = zlib.crc32(raw, body_crc)
            position = layout[name][2] + array.nbytes
        handle.write(b"\0" * (offset - position))
        body_crc = zlib.crc32(b"\0" * (offset - position), body_crc)
        handle.write(objects)
        body_crc = zlib.crc32(objects, body_crc)
        handle.seek(crc_at)
        handle.write(body_crc.to_bytes(8, "little"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path_of(folder, segment_id))


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def load(folder: Path, segment_id: str, verify: bool = False) -> SegmentData:
    """The derived data of a segment, memory-mapped; FileNotFoundError when there is none,
    Damaged when it cannot be read (``verify`` also checks its CRC)."""
    with open(path_of(folder, segment_id), "rb") as handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            raise Damaged(f"{segment_id}{SUFFIX} is empty") from None
    try:
        return _parse(mapped, verify)
    except Damaged:
        raise
    except Exception as error:
        raise Damaged(f"{segment_id}{SUFFIX} cannot be read ({error})") from None


def _parse(mapped: mmap.mmap, verify: bool) -> SegmentData:
    if mapped[: len(_MAGIC)] != _MAGIC:
        raise Damaged("not a derived-data file")
    size = int.from_bytes(mapped[len(_MAGIC) : len(_MAGIC) + 8], "little")
    header = json.loads(mapped[len(_MAGIC) + 8 : len(_MAGIC) + 8 + size])
    start = _aligned(len(_MAGIC) + 8 + size + 8)
    crc = int.from_bytes(mapped[start - 8 : start], "little")
    at, length = header["objects"]
    if len(mapped) != start + at + length:
        raise Damaged(f"its size is {len(mapped)} bytes, not {start + at + length}")
    if verify and zlib.crc32(memoryview(mapped)[start:]) != crc:
        raise Damaged("its checksum does not match")
    arrays = {
        name: np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=start + offset)
        for name, (dtype, count, offset) in header["arrays"].items()
    }
    objects = pickle.loads(mapped[start + at : start + at + length])
    count = header["count"]
    postings = {
        name: Postings(
            terms, arrays[f"offsets.{name}"], arrays[f"docs.{name}"], arrays[f"freqs.{name}"]
        )
        for name, terms in objects["terms"].items()
    }
    for postings_of in postings.values():
        if len(postings_of.offsets) != len(postings_of.terms) + 1:
            raise Damaged("its terms and postings disagree")
    columns = ("document_id", "measure_id", "fiscal_year", "title_length", "text_start")
    if any(len(arrays[n]) != count for n in columns) or len(objects["keys"]) != count:
        raise Damaged("its columns and its entry count disagree")
    return SegmentData(
        count=count,
        keys=objects["keys"],
        **{name: Codes(arrays[f"codes.{name}"], objects["values"][name]) for name in _CODED},
        department_entry=arrays["department_entry"],
        document_id=arrays["document_id"],
        measure_id=arrays["measure_id"],
        fiscal_year=arrays["fiscal_year"],
        title_length=arrays["title_length"],
        text_start=arrays["text_start"],
        text=arrays["text"].tobytes().decode("utf-16-le"),
        lengths={name: arrays[f"lengths.{name}"] for name in SCORED},
        postings=postings,
        files=header["files"],
    )


# -- from Whoosh alone --------------------------------------------------------------------


def segment_files(folder: Path, segment_id: str) -> list[str]:
    """The names of a segment's own Whoosh files (its derived file excluded)."""
    prefix = f"{segment_id}."
    return sorted(
        name
        for name in os.listdir(folder)
        if name.startswith(prefix) and not name.endswith(SUFFIX) and ".tmp" not in name
    )


def fingerprint(folder: Path, names: Iterable[str]) -> dict[str, list[int]]:
    """Size and CRC-32 of each named file."""
    found = {}
    for name in names:
        crc = 0
        with open(folder / name, "rb") as handle:
            while chunk := handle.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        found[name] = [(folder / name).stat().st_size, crc]
    return found


def build(reader: SegmentReader, folder: Path) -> SegmentData:
    """Derive a segment's data from Whoosh: its stored values, length bytes and postings
    (deleted entries included: deletions belong to a commit, not to the segment)."""
    segment_id = reader.segment().segment_id()
    files = fingerprint(folder, segment_files(folder, segment_id))
    perdoc = reader._perdoc  # the per-document reader ignores deletions, as wanted here
    count = perdoc.doc_count_all()
    stored = [perdoc.stored_fields(number) for number in range(count)]
    lengths = {}
    for name in SCORED:
        column = perdoc._cached_reader(f"_{name}_len", LENGTHS_COLUMN)
        values = [column[n] for n in range(count)] if column is not None else [0] * count
        lengths[name] = np.array(values, dtype=np.uint8)
    postings: dict[str, Postings] = {}
    terms_reader = reader._terms
    fieldnames = sorted(set(terms_reader.indexed_field_names()))
    for fieldname in fieldnames:
        fieldformat = reader.schema[fieldname].format
        terms: list[bytes] = []
        sizes: list[int] = []
        docs: list[Array] = []
        freqs: list[Array] = []
        for (name, term), _info in terms_reader.items_from(fieldname, b""):
            if name != fieldname:
                break
            ids, weights = _decode(terms_reader.matcher(fieldname, term, fieldformat))
            terms.append(term)
            sizes.append(len(ids))
            docs.append(ids)
            freqs.append(weights)
        postings[fieldname] = Postings(
            terms=terms,
            offsets=np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))),
            docs=np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32),
            freqs=np.concatenate(freqs) if freqs else np.zeros(0, dtype=np.int32),
        )
    return from_parts(stored, lengths, postings, files)


def _decode(matcher: Any) -> tuple[Array, Array]:
    """Every posting of a ``W3LeafMatcher``, block by block (its ids and weights)."""
    ids: list[Array] = []
    weights: list[Array] = []
    while True:
        matcher._read_ids()
        matcher._read_weights()
        ids.append(np.array(matcher._ids, dtype=np.int32))
        weights.append(np.array(matcher._weights, dtype=np.int32))
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return np.concatenate(ids), np.concatenate(weights)


def load_or_build(folder: Path, reader_of: Any, segment_id: str) -> SegmentData:
    """The segment's derived data from its file, or derived again from Whoosh (and the file
    written, when the folder can be written) if it is missing or damaged.

    ``reader_of()`` opens the segment's ``SegmentReader``; it is called only when needed.
    """
    try:
        return load(folder, segment_id)
    except (FileNotFoundError, Damaged):
        pass
    reader = reader_of()
    try:
        data = build(reader, folder)
    except FileNotFoundError:
        raise
    except Exception as error:  # Whoosh's own files are damaged
        raise Damaged(f"segment {segment_id} cannot be read ({error})") from None
    finally:
        reader.close()
    with contextlib.suppress(OSError):  # a read-only folder: derive it again next time
        write(folder, segment_id, data)
    return data
