"""Measures alike: "more like this" on the index, by the measure's key terms (#17 point 4).

Whoosh's ``Searcher.more_like`` picks a document's key terms (its terms of highest TF-IDF)
and runs them as an OR query. The same is done here on the snapshot a search reads
(``index/snapshot.py``'s ``Snapshot``: each segment's postings as arrays), in two steps:

1. **Candidates by key terms.** The measure's terms are those the index counted for it (its
   normalised text through ``index_terms``, for the ``all`` field and again for ``title``, so
   title words count twice). Each weighs ``(1 + ln tf) × idf`` with ``idf = ln(1 + N / df)``;
   the ``KEY_TERMS`` heaviest that some other entry also holds are the query. Entries are
   scored by BM25 over those terms with the search's own length normalisation, one array
   operation per term, and the best ``CANDIDATES`` are kept.
2. **Score by cosine.** Each candidate's full term vector (from its normalised text, the same
   weights) is compared with the measure's: the score is their cosine, 0 (nothing shared) to
   1 (the same text), so scores mean the same thing for every measure.

Never a candidate: the measure itself, the ids the caller excludes (its history: the same
measure in other years is not "another" measure), other measures of the same municipality
and year (the point is measures of other municipalities or other years), documents, and
deleted entries.

Document frequencies count deleted entries still in their segment, like the search's own
estimate; ``N`` is the live entries.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache

from index.analysis import index_terms
from index.search import SEARCH_TIMEOUT, Searcher, SearchTimeout
from index.snapshot import K1, Snapshot

KEY_TERMS = 40  # the measure's terms that find candidates (Whoosh's more_like takes 10)
CANDIDATES = 40  # candidates scored by cosine, at least; 3 × the number asked for, above
MOST = 20  # the most alike measures one call gives
_FIELDS = ("all", "title")
_VECTORS_KEPT = 4096  # term vectors kept per snapshot (candidates recur across calls)
_FREQUENCIES_KEPT = 500_000  # document frequencies kept per snapshot, then forgotten

Vector = dict[tuple[str, str], float]


@dataclass(frozen=True)
class Alike:
    measure_id: int
    score: float  # cosine of the two term vectors, 0..1
    fiscal_year: int
    municipality: str


class _Known:
    """What similar lookups work out once per snapshot: each key's entry, each term's
    document frequency, recent term vectors."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.docnum = {key: docnum for docnum, key in enumerate(snapshot.keys)}
        self.frequencies: dict[tuple[str, str], int] = {}
        self.idf: dict[tuple[str, str], float] = {}
        self.vectors = LRUCache[int, tuple[Vector, float]](maxsize=_VECTORS_KEPT)
        self.lock = threading.Lock()


_known: weakref.WeakKeyDictionary[Snapshot, _Known] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _known_for(snapshot: Snapshot) -> _Known:
    with _known_lock:
        known = _known.get(snapshot)
        if known is None:
            known = _known[snapshot] = _Known(snapshot)
        return known


def similar(
    searcher: Searcher,
    measure_id: int,
    *,
    exclude: Collection[int] = (),
    first: int = 5,
    timeout: float = SEARCH_TIMEOUT,
) -> list[Alike]:
    """The ``first`` (at most ``MOST``) measures most alike measure ``measure_id``, best
    first (ties: the search's order, newest year first); none when the index does not hold
    it (yet). Raises ``IndexNotBuilt`` and ``SearchTimeout`` as a search does."""
    first = max(0, min(first, MOST))
    with searcher.snapshot() as snapshot:
        deadline = time.monotonic() + timeout
        return _similar(snapshot, measure_id, frozenset(exclude), first, deadline)


def _similar(
    snapshot: Snapshot, measure_id: int, exclude: frozenset[int], first: int, deadline: float
) -> list[Alike]:
    known = _known_for(snapshot)
    docnum = known.docnum.get(f"m{measure_id}")
    if first == 0 or docnum is None or not snapshot.live[docnum]:
        return []
    query, query_norm = _vector(snapshot, known, docnum)
    if not query_norm:
        return []
    key_terms = sorted(
        (term for term in query if _frequency(snapshot, known, term) > 1),
        key=lambda term: -query[term],
    )[:KEY_TERMS]
    # 1. Candidates: BM25 over the key terms, the query's weights as boosts.
    scores = np.zeros(snapshot.size)
    norms = {"all": snapshot.rest_norm, "title": snapshot.title_norm}
    for fieldname, term in key_terms:
        docnums, frequencies = snapshot.postings(fieldname, [term])
        idf = _idf(snapshot, known, (fieldname, term))
        norm = norms[fieldname][docnums]
        scores[docnums] += (
            query[(fieldname, term)] * idf * (K1 + 1) * frequencies / (frequencies + norm)
        )
    if time.monotonic() > deadline:
        raise SearchTimeout("the search took too long")
    measures = snapshot.kind_mask.get("measure")
    if measures is None:
        return []
    # Only what scored is filtered: a few array operations over the candidates, not all.
    found = np.flatnonzero(scores)
    found = found[snapshot.live[found] & measures[found]]
    codes = snapshot.municipality.codes
    found = found[(codes[found] != codes[docnum]) | (snapshot.year[found] != snapshot.year[docnum])]
    excluded = [docnum, *(known.docnum.get(f"m{other}", -1) for other in exclude)]
    found = found[~np.isin(found, excluded)]
    wanted = max(CANDIDATES, 3 * first)
    if len(found) > wanted:
        found = found[np.argpartition(-scores[found], wanted)[:wanted]]
    # 2. Cosine of the whole vectors.
    alike: list[tuple[float, int, int]] = []
    for count, candidate in enumerate(found.tolist()):
        if count % 32 == 0 and time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")
        vector, norm = _vector(snapshot, known, candidate)
        if not norm:
            continue
        small, large = (vector, query) if len(vector) < len(query) else (query, vector)
        dot = sum(weight * large.get(term, 0.0) for term, weight in small.items())
        cosine = min(max(dot / (norm * query_norm), 0.0), 1.0)
        if cosine > 0:
            alike.append((-round(cosine, 4), int(snapshot.rank[candidate]), candidate))
    alike.sort()
    return [
        Alike(
            measure_id=int(snapshot.measure_id[candidate]),
            score=-negative,
            fiscal_year=int(snapshot.year[candidate]),
            municipality=snapshot.municipality.value(candidate),
        )
        for negative, _, candidate in alike[:first]
    ]


def _frequency(snapshot: Snapshot, known: _Known, term: tuple[str, str]) -> int:
    found = known.frequencies.get(term)
    if found is None:
        found = snapshot.frequency(*term)
        with known.lock:
            if len(known.frequencies) >= _FREQUENCIES_KEPT:
                known.frequencies.clear()
                known.idf.clear()
            known.frequencies[term] = found
    return found


def _idf(snapshot: Snapshot, known: _Known, term: tuple[str, str]) -> float:
    found = known.idf.get(term)
    if found is None:
        frequency = max(_frequency(snapshot, known, term), 1)
        found = known.idf[term] = math.log(1 + snapshot.population / frequency)
    return found


def _vector(snapshot: Snapshot, known: _Known, docnum: int) -> tuple[Vector, float]:
    """Entry ``docnum``'s term weights, ``(1 + ln tf) × idf``, and their Euclidean norm."""
    with known.lock:
        kept = known.vectors.get(docnum)
        if kept is not None:
            return kept
    texts = {"all": snapshot.joined(docnum), "title": snapshot.title(docnum)}
    idf = known.idf
    vector: Vector = {}
    for fieldname in _FIELDS:
        for term, tf in index_terms(texts[fieldname]).items():
            key = (fieldname, term)
            weight = idf.get(key)
            if weight is None:
                weight = _idf(snapshot, known, key)
            vector[key] = weight if tf == 1 else (1 + math.log(tf)) * weight
    found = (vector, math.sqrt(sum(w * w for w in vector.values())))
    with known.lock:
        known.vectors[docnum] = found
    return found
