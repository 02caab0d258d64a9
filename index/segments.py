"""The index's storage: immutable segments of numpy postings, committed by a TOC file.

A *segment* holds some entries and, for each (field, token), the sorted local numbers of the
entries that contain it with the token's frequency in each. It is five files, written once
and never changed:

- ``<name>.offsets.npy``: where each term's postings start and end (CSR offsets);
- ``<name>.docs.npy`` and ``<name>.freqs.npy``: the postings, term after term;
- ``<name>.terms.pkl``: the terms in order, and each entry's key and document id;
- ``<name>.stored.pkl``: each entry's stored values, read only by searchers and checks (a
  writer deletes by key or document id without reading them).

A *commit* is a file ``TOC-<n>.json`` naming the segments in order and, for each, the local
numbers deleted since it was written. It is written beside the others and renamed into
place, so readers see the state before a commit or after it, never between. The newest TOC
is the current state; the one before it and its segments are kept, so that a reader that
has just listed the folder can still open what it found.

One writer at a time: ``WRITE.lock``, an ``flock`` that the system releases when the holder
dies, so a killed ingest never leaves the index locked.

Why not Whoosh's writer: it is pure Python per posting (about 440 entries/s per core, see
``docs/decisions/0004``). Here a commit counts tokens per entry in Python and lays out the
postings with numpy, and searches read them as arrays without decoding.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import pickle
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]

LOCK = "WRITE.lock"
_TOC = re.compile(r"^TOC-(\d+)\.json$")
_SUFFIXES = (".offsets.npy", ".docs.npy", ".freqs.npy", ".terms.pkl", ".stored.pkl")
_TIER_SIZE = 8  # this many segments of one size tier are merged into one


class LockTimeout(RuntimeError):
    """Another process held the write lock for longer than the timeout."""


class Damaged(RuntimeError):
    """A file the current commit needs is missing or cannot be read."""


@dataclass(frozen=True)
class Entry:
    """One searchable unit as the writer takes it: stored values and counted tokens."""

    document_id: int
    key: str
    stored: dict[str, Any]
    terms: Mapping[str, Mapping[str, int]]  # field -> token -> frequency


@dataclass
class SegmentInfo:
    name: str
    count: int
    deleted: set[int] = field(default_factory=set)

    @property
    def live(self) -> int:
        return self.count - len(self.deleted)


class Segment:
    """A segment opened for reading: terms in memory, postings memory-mapped."""

    def __init__(self, folder: Path, info: SegmentInfo) -> None:
        self.info = info
        self.path = path = folder / info.name
        meta = self._read(lambda: _unpickle(f"{path}.terms.pkl"))
        self.offsets: Array = self._read(lambda: np.load(f"{path}.offsets.npy", mmap_mode="r"))
        self.docs: Array = self._read(lambda: np.load(f"{path}.docs.npy", mmap_mode="r"))
        self.freqs: Array = self._read(lambda: np.load(f"{path}.freqs.npy", mmap_mode="r"))
        self.fields: dict[str, dict[str, int]] = meta["terms"]
        self.keys: list[str] = meta["keys"]
        self.document_ids: Array = np.asarray(meta["document_ids"], dtype=np.int64)
        if len(self.keys) != info.count or len(self.offsets) != self.term_count() + 1:
            raise Damaged(f"segment {info.name} does not match its commit")

    def stored(self) -> list[dict[str, Any]]:
        """Every entry's stored values, read from disk on each call."""
        stored: list[dict[str, Any]] = self._read(lambda: _unpickle(f"{self.path}.stored.pkl"))
        if len(stored) != self.info.count:
            raise Damaged(f"segment {self.info.name} does not match its commit")
        return stored

    def _read(self, load: Callable[[], Any]) -> Any:
        """``load()``; a missing file stays FileNotFoundError (a newer commit may have removed
        it), any other failure means the segment is damaged."""
        try:
            return load()
        except FileNotFoundError:
            raise
        except Exception as error:
            raise Damaged(f"segment {self.info.name} cannot be read ({error})") from None

    def term_count(self) -> int:
        return sum(len(terms) for terms in self.fields.values())

    def postings(self, fieldname: str, term: str) -> tuple[Array, Array]:
        """Local entry numbers holding ``term`` and its frequency in each."""
        number = self.fields.get(fieldname, {}).get(term)
        if number is None:
            return _EMPTY_IDS, _EMPTY_FREQS
        start, end = int(self.offsets[number]), int(self.offsets[number + 1])
        return self.docs[start:end], self.freqs[start:end]

    def frequency(self, fieldname: str, term: str) -> int:
        number = self.fields.get(fieldname, {}).get(term)
        return 0 if number is None else int(self.offsets[number + 1] - self.offsets[number])


def _unpickle(path: str) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


_EMPTY_IDS = np.zeros(0, dtype=np.int32)
_EMPTY_FREQS = np.zeros(0, dtype=np.int32)


# -- commits -----------------------------------------------------------------------------


def latest(folder: Path) -> int:
    """The newest commit's number in ``folder`` (-1 when there is none), from file names."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return -1
    return max((int(m.group(1)) for m in map(_TOC.match, names) if m), default=-1)


def read_commit(folder: Path, number: int) -> list[SegmentInfo]:
    with open(folder / f"TOC-{number:08d}.json", encoding="utf-8") as handle:
        data = json.load(handle)
    return [SegmentInfo(s["name"], s["count"], set(s["deleted"])) for s in data["segments"]]


def create(folder: Path) -> None:
    """An empty index in ``folder`` (commit 0, no segments)."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_commit(folder, 0, [])


def open_segments(folder: Path, number: int) -> list[Segment]:
    """Every segment of commit ``number``; FileNotFoundError if a newer commit removed one."""
    try:
        infos = read_commit(folder, number)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise Damaged(f"commit {number} cannot be read ({error})") from None
    segments = []
    for info in infos:
        try:
            segments.append(Segment(folder, info))
        except FileNotFoundError:
            if latest(folder) == number:  # still the current commit: a file is really gone
                raise Damaged(f"segment {info.name} is missing") from None
            raise
    return segments


def _write_commit(folder: Path, number: int, segments: list[SegmentInfo]) -> None:
    data = {
        "segments": [
            {"name": s.name, "count": s.count, "deleted": sorted(s.deleted)} for s in segments
        ]
    }
    temporary = folder / f"TOC-{number:08d}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / f"TOC-{number:08d}.json")
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- writing -----------------------------------------------------------------------------


class Writer:
    """The one writer of the index in ``folder``: deletes and adds, then commits or cancels.

    Holds the write lock from construction until ``commit`` or ``cancel``.
    """

    def __init__(self, folder: Path, timeout: float) -> None:
        self.folder = folder
        self._lock = _acquire(folder / LOCK, timeout)
        try:
            self.number = latest(folder)
            if self.number < 0:
                raise Damaged(f"{folder} holds no commit")
            self.segments = open_segments(folder, self.number)
        except BaseException:
            self._release()
            raise
        self.infos = [
            SegmentInfo(s.info.name, s.info.count, set(s.info.deleted)) for s in self.segments
        ]
        self.added: list[Entry] = []

    def delete_documents(self, document_ids: Iterable[int]) -> None:
        wanted = np.fromiter(document_ids, dtype=np.int64)
        for segment, info in zip(self.segments, self.infos, strict=True):
            info.deleted.update(np.flatnonzero(np.isin(segment.document_ids, wanted)).tolist())

    def delete_keys(self, keys: Iterable[str]) -> None:
        wanted = set(keys)
        for segment, info in zip(self.segments, self.infos, strict=True):
            info.deleted.update(i for i, key in enumerate(segment.keys) if key in wanted)

    def add(self, entry: Entry) -> None:
        self.added.append(entry)

    def commit(self) -> None:
        """Write the added entries as a new segment, merge where a size tier is full, and
        switch readers to the result in one rename."""
        try:
            infos = [info for info in self.infos if info.live > 0]
            if self.added:
                name = f"s{time.time_ns():x}"
                _write_segment(self.folder / name, self.added)
                infos.append(SegmentInfo(name, len(self.added)))
            infos = self._merge_full_tiers(infos)
            _write_commit(self.folder, self.number + 1, infos)
            self._clean(keep=infos)
        finally:
            self._release()

    def cancel(self) -> None:
        self._release()

    def _merge_full_tiers(self, infos: list[SegmentInfo]) -> list[SegmentInfo]:
        while True:
            tiers: dict[int, list[SegmentInfo]] = {}
            for info in infos:
                tiers.setdefault(_tier(info.live), []).append(info)
            full = next((t for t in sorted(tiers) if len(tiers[t]) >= _TIER_SIZE), None)
            if full is None:
                return infos
            chosen = tiers[full]
            name = f"s{time.time_ns():x}"
            count = _merge([(self._segment(info), info) for info in chosen], self.folder / name)
            kept = [info for info in infos if info not in chosen]
            infos = [*kept, SegmentInfo(name, count)]

    def _segment(self, info: SegmentInfo) -> Segment:
        """The segment ``info`` names: the one opened already, or one this commit wrote."""
        opened = next((s for s in self.segments if s.info.name == info.name), None)
        return opened or Segment(self.folder, info)

    def _clean(self, keep: list[SegmentInfo]) -> None:
        """Remove commits before the previous one, and segment files neither of the two
        newest commits names (a killed writer's leftovers included)."""
        wanted = {info.name for info in keep} | {info.name for info in self.infos}
        for name in os.listdir(self.folder):
            toc = _TOC.match(name)
            old_commit = toc is not None and int(toc.group(1)) < self.number
            unused = name.endswith(_SUFFIXES) and _segment_name(name) not in wanted
            if old_commit or unused or name.endswith(".tmp"):
                _remove(self.folder / name)

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None


def _acquire(path: Path, timeout: float) -> int | None:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(descriptor)
                waited = f"waited {timeout:g} s"
                raise LockTimeout(f"the index is locked by another writer ({waited})") from None
            time.sleep(0.05)


def _tier(live: int) -> int:
    """Segments of similar size share a tier (a factor of 8 apart), so each entry is merged
    about log8(total) times however the index grew."""
    return int(math.log(max(live, 1), _TIER_SIZE))


def _segment_name(filename: str) -> str:
    return filename.split(".", 1)[0]


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _write_segment(path: Path, entries: list[Entry]) -> None:
    """Lay out ``entries``' postings term by term, each term's entries in order."""
    vocabulary: dict[tuple[str, str], int] = {}
    term_ids: list[int] = []
    entry_numbers: list[int] = []
    frequencies: list[int] = []
    for number, entry in enumerate(entries):
        for fieldname, counts in entry.terms.items():
            for term, frequency in counts.items():
                term_ids.append(vocabulary.setdefault((fieldname, term), len(vocabulary)))
                frequencies.append(frequency)
            entry_numbers += [number] * len(counts)
    _save(
        path,
        list(vocabulary),
        np.array(term_ids, dtype=np.int64),
        np.array(entry_numbers, dtype=np.int32),
        np.array(frequencies, dtype=np.int32),
        stored=[e.stored for e in entries],
        keys=[e.key for e in entries],
        document_ids=[e.document_id for e in entries],
    )


def _save(
    path: Path,
    vocabulary: list[tuple[str, str]],
    term_ids: Array,
    entry_numbers: Array,
    frequencies: Array,
    *,
    stored: list[dict[str, Any]],
    keys: list[str],
    document_ids: list[int],
) -> None:
    """Sort postings by (term, entry) and write the segment's four files, synced."""
    order = np.lexsort((entry_numbers, term_ids))
    offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term_ids, minlength=len(vocabulary)), out=offsets[1:])
    terms: dict[str, dict[str, int]] = {}
    for number, (fieldname, term) in enumerate(vocabulary):
        terms.setdefault(fieldname, {})[term] = number
    meta = {"terms": terms, "keys": keys, "document_ids": document_ids}
    for suffix, value in (("terms", meta), ("stored", stored)):
        with open(f"{path}.{suffix}.pkl", "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
    for suffix, array in (
        ("offsets", offsets),
        ("docs", entry_numbers[order]),
        ("freqs", frequencies[order]),
    ):
        with open(f"{path}.{suffix}.npy", "wb") as handle:
            np.save(handle, array)
            handle.flush()
            os.fsync(handle.fileno())


def _merge(parts: list[tuple[Segment, SegmentInfo]], path: Path) -> int:
    """Write the live entries of the segments (with the deletions ``SegmentInfo`` holds
    now) as one segment; returns its size."""
    vocabulary: dict[tuple[str, str], int] = {}
    term_ids: list[Array] = []
    entry_numbers: list[Array] = []
    frequencies: list[Array] = []
    stored: list[dict[str, Any]] = []
    keys: list[str] = []
    document_ids: list[int] = []
    for segment, info in parts:
        live = np.ones(info.count, dtype=bool)
        live[list(info.deleted)] = False
        renumber = np.cumsum(live) - 1 + len(stored)
        local = np.zeros(segment.term_count(), dtype=np.int64)
        for fieldname, terms in segment.fields.items():
            for term, number in terms.items():
                local[number] = vocabulary.setdefault((fieldname, term), len(vocabulary))
        lengths = np.diff(np.asarray(segment.offsets))
        ids = np.repeat(local, lengths)
        docs = np.asarray(segment.docs)
        keep = live[docs]
        term_ids.append(ids[keep])
        entry_numbers.append(renumber[docs[keep]].astype(np.int32))
        frequencies.append(np.asarray(segment.freqs)[keep])
        chosen = np.flatnonzero(live).tolist()
        values = segment.stored()
        stored.extend(values[i] for i in chosen)
        keys.extend(segment.keys[i] for i in chosen)
        document_ids.extend(int(segment.document_ids[i]) for i in chosen)
    _save(
        path,
        list(vocabulary),
        np.concatenate(term_ids) if term_ids else np.zeros(0, dtype=np.int64),
        np.concatenate(entry_numbers) if entry_numbers else np.zeros(0, dtype=np.int32),
        np.concatenate(frequencies) if frequencies else np.zeros(0, dtype=np.int32),
        stored=stored,
        keys=keys,
        document_ids=document_ids,
    )
    return len(stored)


def committed_segments(folder: Path) -> Iterator[Segment]:
    """The current commit's segments (for checks): Damaged if any cannot be read."""
    number = latest(folder)
    if number < 0:
        raise Damaged(f"{folder} holds no commit")
    try:
        yield from open_segments(folder, number)
    except FileNotFoundError as error:
        raise Damaged(f"a file of the index is missing ({error.filename})") from None
