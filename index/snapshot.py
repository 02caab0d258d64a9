"""One committed state of the index, loaded into memory: per-entry columns, postings, the
normalised text of every entry, and the caches of what matching found in it.

It is made of each segment's derived arrays (``index/derived.py``: memory-mapped, so the
worker processes of a server share them). Per-entry columns are numpy arrays indexed by
docnum, so that everything done per hit (filters, set algebra, BM25, ordering, facets)
runs as array operations: at 100k measures a broad term has tens of thousands of hits,
and a Python loop per hit costs more than the whole budget.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from archive.parse import department_key
from index.bulk import DurableStorage
from index.derived import DOCUMENT_SEPARATOR, SegmentData, concatenate, join_codes, load_or_build
from index.query import Text
from index.writing import read_toc

Array = npt.NDArray[Any]

K1, B = 1.2, 0.75  # BM25's, for the length normalisation each entry carries
_CACHE_SIZE = 512  # terms (and word sets) whose matches a snapshot keeps


@dataclass(frozen=True)
class Matches:
    """The measures that contain a term (sorted docnums) and the term's frequency in each
    one's title and in the rest of its fields, aligned with ``docnums``."""

    docnums: Array
    in_title: Array
    in_rest: Array


class Snapshot:
    """One committed state of the index, shared between threads: read-only once loaded, but
    for term lookups built when first needed and the caches behind ``lock``."""

    def __init__(self, folder: Path, commit: int) -> None:
        self.generation = f"{folder.name}.{commit}"
        storage = DurableStorage(str(folder))
        toc = read_toc(folder, commit)  # FileNotFoundError: a newer commit replaced it
        self.parts: list[SegmentData] = []
        for segment in toc.segments:
            self.parts.append(
                load_or_build(
                    folder,
                    lambda segment=segment: storage.open_segment(toc.schema, segment),
                    segment.segment_id(),
                )
            )
        self.bases: list[int] = []  # each segment's first docnum
        size = 0
        for part in self.parts:
            self.bases.append(size)
            size += part.count
        self.size = size
        self.live = np.ones(size, dtype=bool)
        for segment, base in zip(toc.segments, self.bases, strict=True):
            deleted = np.fromiter(segment.deleted_docs(), dtype=np.int64)
            self.live[deleted + base] = False
        self.count = int(self.live.sum())
        self.population = max(self.count, 1)
        self.year = concatenate([p.fiscal_year for p in self.parts], np.int64)
        self.first_year = int(self.year.min()) if size else 0
        self.measure_id = concatenate([p.measure_id for p in self.parts], np.int64)
        self.document_id = concatenate([p.document_id for p in self.parts], np.int64)
        self.keys = [key for part in self.parts for key in part.keys]
        self.kind = join_codes([(p.kind, None) for p in self.parts])
        self.municipality = join_codes([(p.municipality, None) for p in self.parts])
        self.number = join_codes([(p.number, None) for p in self.parts])
        self.kind_mask = {
            name: self.kind.codes == code for code, name in enumerate(self.kind.values)
        }
        # Departments: (docnum, department) pairs, departments numbered by their key and
        # named as first printed.
        department_ids: dict[str, int] = {}
        self.department_names: list[str] = []
        pair_doc: list[Array] = []
        pair_department: list[Array] = []
        for part, base in zip(self.parts, self.bases, strict=True):
            ours = []
            for name in part.department.values:
                key = department_key(name)
                if key not in department_ids:
                    department_ids[key] = len(self.department_names)
                    self.department_names.append(name)
                ours.append(department_ids[key])
            pair_doc.append(part.department_entry.astype(np.int64) + base)
            pair_department.append(np.array(ours, dtype=np.int64)[part.department.codes])
        self.department_ids = department_ids
        self.pair_doc = concatenate(pair_doc, np.int64)
        self.pair_department = concatenate(pair_department, np.int64)
        # Every entry's normalised text in one string, for a scan in C when a term has too
        # many candidates to verify one by one; deleted entries are in it (filtered after).
        self.corpus = DOCUMENT_SEPARATOR.join(part.text for part in self.parts)
        starts, offset = [], 0
        for part in self.parts:
            starts.append(part.text_start + offset)
            offset += len(part.text) + 1
        self.corpus_starts = concatenate(starts, np.int64)
        self.corpus_ends = np.append(self.corpus_starts[1:] - 1, len(self.corpus))
        title_length = concatenate([p.title_length for p in self.parts], np.int64)
        self.title_ends = self.corpus_starts + title_length
        self.rest_starts = np.minimum(self.title_ends + (title_length > 0), self.corpus_ends)
        rest_length = (self.corpus_ends - self.rest_starts).astype(np.float64)
        # BM25's k1 × length normalisation per entry, for the title and for the rest.
        live_count = max(self.count, 1)
        title_mean = (title_length[self.live].sum() / live_count) or 1
        rest_mean = (rest_length[self.live].sum() / live_count) or 1
        self.title_norm = K1 * (1 - B + B * title_length / title_mean)
        self.rest_norm = K1 * (1 - B + B * rest_length / rest_mean)
        # The tie-break order: newest year first, then municipality, number and key.
        self.rank = np.zeros(size, dtype=np.int64)
        if size:
            order = np.lexsort(
                (
                    np.unique(np.array(self.keys), return_inverse=True)[1],
                    self.number.sort_keys(missing=""),
                    self.municipality.sort_keys(missing=""),
                    -self.year,
                )
            )
            self.rank[order] = np.arange(size)
        self._lookups: dict[tuple[int, str], dict[bytes, int]] = {}
        self._vocabulary: dict[str, list[bytes]] = {}  # field -> sorted terms, when needed
        # What matching found (index/matching.py), guarded by ``lock``: a term's exact
        # matches, and the entries holding every one of a set of words.
        self.text_matches: LRUCache[Text, Matches] = LRUCache(_CACHE_SIZE)
        self.word_matches: LRUCache[tuple[str, ...], Matches] = LRUCache(_CACHE_SIZE)
        self.lock = threading.Lock()
        self.users = 0  # searches using this snapshot now (guarded by the Searcher's lock)
        self.retired = False  # a newer snapshot replaced it

    def title(self, docnum: int) -> str:
        return self.corpus[self.corpus_starts[docnum] : self.title_ends[docnum]]

    def joined(self, docnum: int) -> str:
        return self.corpus[self.corpus_starts[docnum] : self.corpus_ends[docnum]]

    def close(self) -> None:
        self.parts = []  # the memory maps close when the arrays are collected

    def postings(self, fieldname: str, terms: Sequence[str]) -> tuple[Array, Array]:
        """Sorted docnums holding any of ``terms`` and the summed frequencies."""
        ids: list[Array] = []
        weights: list[Array] = []
        for term in terms:
            key = term.encode("utf-8")
            for number, (part, base) in enumerate(zip(self.parts, self.bases, strict=True)):
                postings = part.postings.get(fieldname)
                at = self._lookup(number, fieldname).get(key) if postings is not None else None
                if postings is not None and at is not None:
                    start, end = postings.offsets[at], postings.offsets[at + 1]
                    ids.append(postings.docs[start:end] + base)
                    weights.append(postings.freqs[start:end])
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        docnums: Array = np.concatenate(ids).astype(np.int64)
        frequencies: Array = np.concatenate(weights).astype(np.float64)
        if len(terms) > 1:
            docnums, inverse = np.unique(docnums, return_inverse=True)
            frequencies = np.bincount(inverse, weights=frequencies, minlength=len(docnums))
        return docnums, frequencies

    def _lookup(self, number: int, fieldname: str) -> dict[bytes, int]:
        """Segment ``number``'s terms of ``fieldname`` by their bytes, built when first used."""
        found = self._lookups.get((number, fieldname))
        if found is None:
            postings = self.parts[number].postings.get(fieldname)
            found = postings.lookup() if postings is not None else {}
            self._lookups[(number, fieldname)] = found
        return found

    def frequency(self, fieldname: str, term: str) -> int:
        """How many entries hold ``term`` (deleted ones included, as an estimate)."""
        key = term.encode("utf-8")
        total = 0
        for number, part in enumerate(self.parts):
            at = self._lookup(number, fieldname).get(key)
            if at is not None:
                offsets = part.postings[fieldname].offsets
                total += int(offsets[at + 1] - offsets[at])
        return total

    def expand_prefix(self, fieldname: str, prefix: str) -> list[str]:
        """The terms of ``fieldname`` that start with ``prefix``, in order."""
        vocabulary = self._vocabulary.get(fieldname)
        if vocabulary is None:
            merged: set[bytes] = set()
            for part in self.parts:
                postings = part.postings.get(fieldname)
                merged.update(postings.terms if postings is not None else ())
            vocabulary = self._vocabulary[fieldname] = sorted(merged)
        start = prefix.encode("utf-8")
        first = bisect.bisect_left(vocabulary, start)
        found = []
        for term in vocabulary[first:]:
            if not term.startswith(start):
                break
            found.append(term.decode("utf-8"))
        return found
