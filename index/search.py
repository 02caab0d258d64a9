"""Searching: one query over the newest index state, giving exact counts, a ranked page of
hits and facets over the whole result.

A ``Searcher`` is made once per process and reused: it reopens its snapshot
(``index/snapshot.py``) only when the index has a new generation or commit. A search finds
the entries that match (``index/matching.py``), ranks them (``index/ranking.py``) and counts
facets (``index/facets.py``); highlights are made for a page from the store's text
(``index/highlights.py``).
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archive.errors import IndexProblem, TimedOut
from archive.parse import department_key
from index.bulk import latest
from index.derived import Damaged
from index.facets import Facet, facets
from index.matching import (
    CheckTime,
    evaluate,
    label_matches,
    matched_labels,
    matched_terms,
    matches,
    word_matches,
)
from index.query import Node, parse_query, positive_labels, positive_texts
from index.ranking import ranked
from index.snapshot import Array, Snapshot
from index.writing import IndexOutdated, current_dir

SEARCH_TIMEOUT = 5.0


class SearchTimeout(TimedOut, RuntimeError):
    """The search ran past its time limit."""

    code = "SEARCH_TIMEOUT"


class IndexNotBuilt(IndexProblem, RuntimeError):
    """There is no usable index: none yet, an earlier format, or a damaged one."""


_DAMAGED = "the search index cannot be read ({}); run 'plan-archive check --repair'"


@dataclass(frozen=True)
class Hit:
    key: str
    kind: str  # "measure" or "document"
    measure_id: int | None
    document_id: int
    fiscal_year: int
    municipality: str
    number: str | None
    score: float
    matched: tuple[str, ...]  # normalised terms (or words) this hit is highlighted for
    # "exact": the hit matches the query exactly; "words": only with a term matched by words
    matched_by: str = "exact"
    # The labels the query matched in this hit: "carry_over" (its next-year tag), "grade"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]
    fiscal_years: list[Facet]
    departments: list[Facet]
    generation: str  # changes whenever the index does
    exact_total: int = 0  # the hits that match exactly (``total`` counts word matches too)
    # ``chain_keys`` over the ranked hits up to each position of ``SearchOptions.digests_at``
    # (included; none for a position past the end): a cursor made in an earlier state of the
    # index holds for this one when the hits up to it are the same (#15 point 4).
    digests: dict[int, str] = field(default_factory=dict)


def chain_keys(digest: str, keys: Iterable[str]) -> str:
    """A digest of a ranked list of hits, extended by ``keys`` (``""`` for none yet): equal
    digests mean the same hits in the same order."""
    for key in keys:
        digest = hashlib.blake2b(f"{digest}\n{key}".encode(), digest_size=8).hexdigest()
    return digest


@dataclass(frozen=True)
class SearchOptions:
    fiscal_years: Sequence[int] | None = None
    departments: Sequence[str] | None = None
    kinds: Sequence[str] = ("measure", "document")
    sort: str = "relevance"  # or "fiscalYear", "-fiscalYear"
    measure_ids: frozenset[int] | None = None  # only these measures (from a store filter)
    document_ids: frozenset[int] | None = None  # only these documents' entries (likewise)
    offset: int = 0
    limit: int = 20
    digests_at: tuple[int, ...] = ()  # positions to give ``Results.digests`` for
    exact_only: bool = False  # no word matches: every term matches exactly only
    timeout: float = SEARCH_TIMEOUT


class Searcher:
    """Searches the index under ``root``; one per process, safe to share between threads."""

    def __init__(self, root: Path, synonyms: dict[str, tuple[str, ...]] | None = None) -> None:
        self.root = root
        self.synonyms = synonyms
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def generation(self) -> str:
        """The name of the newest committed state, without loading it."""
        try:
            folder = current_dir(self.root)
        except IndexOutdated as outdated:
            raise IndexNotBuilt(str(outdated)) from None
        if folder is None:
            raise IndexNotBuilt("there is no search index yet; ingest a report or run reindex")
        return f"{folder.name}.{latest(folder)}"

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """The newest committed state, held open while inside: a snapshot replaced by a newer
        one is closed only when the last search using it is done."""
        with self._lock:
            for attempt in range(5):
                newest = self.generation()
                current = self._snapshot
                if current is not None and current.generation == newest:
                    break
                try:
                    name, commit = newest.split(".")
                    fresh = Snapshot(self.root / name, int(commit))
                except FileNotFoundError:  # a commit replaced the TOC while we opened it
                    if attempt == 4:
                        raise IndexNotBuilt(_DAMAGED.format("a file is missing")) from None
                    continue
                except IndexOutdated as outdated:
                    raise IndexNotBuilt(str(outdated)) from None
                except Damaged as damaged:
                    raise IndexNotBuilt(_DAMAGED.format(damaged)) from None
                replaced = current is not None
                if current is not None:
                    self._retire(current)
                self._snapshot = current = fresh
                _keep_out_of_gc(replaced)
                break
            assert current is not None
            current.users += 1
        try:
            yield current
        finally:
            with self._lock:
                current.users -= 1
                if current.retired and current.users == 0:
                    current.close()

    def _retire(self, snapshot: Snapshot) -> None:
        snapshot.retired = True
        if snapshot.users == 0:
            snapshot.close()

    def close(self) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._retire(self._snapshot)
                self._snapshot = None

    def search(self, query: str, options: SearchOptions | None = None) -> Results:
        options = options or SearchOptions()
        tree = parse_query(query, self.synonyms)
        with self.snapshot() as snapshot:
            # The clock starts once the snapshot is open: loading a new index state (seconds
            # at 100,000 measures, once per commit) is not the query's fault.
            return _search(snapshot, tree, options, _time_check(options.timeout))


def _search(
    snapshot: Snapshot, tree: Node, options: SearchOptions, check_time: CheckTime
) -> Results:
    exact = _restrict(snapshot, evaluate(snapshot, tree, check_time), options)
    texts = list(dict.fromkeys(positive_texts(tree)))
    labels = list(dict.fromkeys(positive_labels(tree)))
    by_words = not options.exact_only and any(text.words for text in texts)
    found = (
        _restrict(snapshot, evaluate(snapshot, tree, check_time, True), options)
        if by_words
        else exact
    )
    check_time()
    is_exact: Array | None = None  # aligned with found, when some hits are by words only
    exact_mask: Array | None = None  # by docnum
    if len(found) > len(exact):
        exact_mask = np.zeros(snapshot.size, dtype=bool)
        exact_mask[exact] = True
        is_exact = exact_mask[found]
    terms = [
        (
            matches(snapshot, text, check_time),
            word_matches(snapshot, text.words) if is_exact is not None and text.words else None,
        )
        for text in texts
    ]
    end = options.offset + options.limit
    count = max([end, *(at + 1 for at in options.digests_at)])
    page = ranked(snapshot, found, terms, options.sort, count, is_exact)
    digests, digest, wanted = {}, "", set(options.digests_at)
    for at, (docnum, _) in enumerate(page[: max(wanted, default=-1) + 1]):
        digest = chain_keys(digest, (snapshot.keys[docnum],))
        if at in wanted:
            digests[at] = digest
    years, departments = facets(snapshot, found, is_exact)
    check_time()
    labelled = label_matches(snapshot, labels, check_time)
    hits = []
    for docnum, score in page[options.offset : end]:
        words = exact_mask is not None and not exact_mask[docnum]
        matched = matched_terms(snapshot, docnum, texts, by_words=words)
        found_labels = matched_labels(docnum, labelled)
        kind = "words" if words else "exact"
        hits.append(_hit(snapshot, docnum, score, matched, kind, found_labels))
    return Results(
        total=len(found),
        hits=hits,
        fiscal_years=years,
        departments=departments,
        generation=snapshot.generation,
        digests=digests,
        exact_total=len(exact),
    )


def _time_check(seconds: float) -> CheckTime:
    """A check that raises ``SearchTimeout`` once ``seconds`` from now have passed."""
    deadline = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")

    return check


def _restrict(snapshot: Snapshot, found: Array, options: SearchOptions) -> Array:
    """The entries of ``found`` that the options' filters (kind, year, ids, department) keep."""
    allowed = np.zeros(len(snapshot.live), dtype=bool)
    for kind in options.kinds:
        if kind in snapshot.kind_mask:
            allowed |= snapshot.kind_mask[kind]
    if options.fiscal_years is not None:
        allowed &= np.isin(snapshot.year, list(options.fiscal_years))
    if options.measure_ids is not None:
        allowed &= np.isin(snapshot.measure_id, np.fromiter(options.measure_ids, np.int64))
    if options.document_ids is not None:
        allowed &= np.isin(snapshot.document_id, np.fromiter(options.document_ids, np.int64))
    if options.departments is not None:
        ids = [snapshot.department_ids.get(department_key(n), -1) for n in options.departments]
        in_departments = np.zeros(len(snapshot.live), dtype=bool)
        in_departments[snapshot.pair_doc[np.isin(snapshot.pair_department, ids)]] = True
        allowed &= in_departments
    return found[allowed[found]]


def _hit(
    snapshot: Snapshot,
    docnum: int,
    score: float,
    matched: tuple[str, ...],
    matched_by: str,
    labels: tuple[str, ...],
) -> Hit:
    measure_id = int(snapshot.measure_id[docnum])
    return Hit(
        key=snapshot.keys[docnum],
        kind=snapshot.kind.value(docnum),
        measure_id=None if measure_id < 0 else measure_id,
        document_id=int(snapshot.document_id[docnum]),
        fiscal_year=int(snapshot.year[docnum]),
        municipality=snapshot.municipality.value(docnum),
        number=snapshot.number.value(docnum),
        score=round(score, 4),
        matched=matched,
        matched_by=matched_by,
        labels=labels,
    )


def _keep_out_of_gc(replaced: bool) -> None:
    """Move what the process holds now, the new snapshot included, out of the garbage
    collector's reach, after letting it collect what the previous snapshot left.

    A snapshot at 100,000 measures is millions of objects. Python's full collections walk
    every one of them, and GraphQL execution allocates enough to trigger them often: with
    two workers, the uncached list page went from 70 to 120 req/s and its p95 from 359 to
    87 ms once the snapshot was frozen (``gc.freeze``). The snapshot is read-only, so it is
    never garbage while it is current; this runs once per index commit.

    Only a snapshot that ``replaced`` another unfreezes everything first, so that the cycles
    the old one leaves are collected: that walks the whole heap. A searcher's first snapshot
    collects and freezes only what is not frozen yet, which in a process that opens many
    searchers (the test suite, a command line) costs a small part of that walk.
    """
    if replaced:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
