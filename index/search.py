"""Searching: exact matches, ranked, with facets over the whole result and highlights per page.

Counts must be exact, because researchers read ``totalCount`` and the facets. An AND of
bigrams over-matches where the pieces recur apart (令和2年度 at 100k measures: 44,919 hits
for 15,797 true ones), so postings are used only for what they are fast at: the postings of
the query's rarest term give a candidate set. Each candidate
is then verified against its normalised text, held in memory per index generation, with a
substring test (and whole-word edges for Latin). What survives is exactly the set of
measures that contain the query.

Ranking is BM25 over the verified set, with term frequencies counted in the normalised
fields and a weight per field (a title match counts most). Facets count the same set.

A ``Searcher`` is made once per process and reused: it reopens its snapshot only when the
index has a new generation or commit, and it caches verified term sets for the snapshot.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import math
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from archive.errors import IndexProblem, TimedOut
from archive.parse import department_key
from index.analysis import WORD_CLASS, is_cjk, is_word, normalize, normalize_text, query_terms
from index.bulk import DurableStorage, latest
from index.derived import (
    DOCUMENT_SEPARATOR,
    Damaged,
    SegmentData,
    concatenate,
    join_codes,
    load_or_build,
)
from index.fields import tag_term
from index.query import (
    LABELS,
    And,
    Exact,
    Node,
    Not,
    Or,
    Tag,
    Text,
    Years,
    label_value,
    parse_query,
    positive_labels,
    positive_texts,
)
from index.writing import IndexOutdated, current_dir, read_toc

Array = npt.NDArray[Any]

SEARCH_TIMEOUT = 5.0
_SCORE_SCALE = float(1 << 24)  # above any tie-break rank: an archive of up to 16M entries
_TITLE_WEIGHT = 3.0  # a match in the title counts three times one in any other field
_K1, _B = 1.2, 0.75
_PREFIX_TERMS_AT_MOST = 64  # a kanji that starts more bigrams than this is found by a scan
_VERIFY_AT_MOST = 2000  # more candidates than this: scan all text instead of verifying each
_CACHE_SIZE = 512


class SearchTimeout(TimedOut, RuntimeError):
    """The search ran past its time limit."""

    code = "SEARCH_TIMEOUT"


class IndexNotBuilt(IndexProblem, RuntimeError):
    """There is no usable index: none yet, an earlier format, or a damaged one."""


_DAMAGED = "the search index cannot be read ({}); run 'plan-archive check --repair'"


@dataclass(frozen=True)
class Facet:
    value: str
    count: int
    exact_count: int = 0  # of the hits that match exactly (#17 point 1)


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


@dataclass(frozen=True)
class _Matches:
    """The measures that contain a term (sorted docnums) and the term's frequency in each
    one's title and in the rest of its fields, aligned with ``docnums``."""

    docnums: Array
    in_title: Array
    in_rest: Array


class _Snapshot:
    """One committed state of the index, loaded into memory for exact matching.

    It is made of each segment's derived arrays (``index/derived.py``: memory-mapped, so the
    worker processes of a server share them). Per-entry columns are numpy arrays indexed by
    docnum, so that everything done per hit (filters, set algebra, BM25, ordering, facets)
    runs as array operations: at 100k measures a broad term has tens of thousands of hits,
    and a Python loop per hit costs more than the whole budget.
    """

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
        self.title_norm = _K1 * (1 - _B + _B * title_length / title_mean)
        self.rest_norm = _K1 * (1 - _B + _B * rest_length / rest_mean)
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
        self._matches: OrderedDict[Text, _Matches] = OrderedDict()
        self._word_matches: OrderedDict[tuple[str, ...], _Matches] = OrderedDict()
        self._lock = threading.Lock()
        self.users = 0  # searches using this snapshot now (guarded by the Searcher's lock)
        self.retired = False  # a newer snapshot replaced it

    def title(self, docnum: int) -> str:
        return self.corpus[self.corpus_starts[docnum] : self.title_ends[docnum]]

    def joined(self, docnum: int) -> str:
        return self.corpus[self.corpus_starts[docnum] : self.corpus_ends[docnum]]

    def close(self) -> None:
        self.parts = []  # the memory maps close when the arrays are collected

    # -- matching ----------------------------------------------------------------------

    def matches(self, text: Text, deadline: float) -> _Matches:
        """The measures containing ``text``, cached per snapshot."""
        with self._lock:
            cached = self._matches.get(text)
            if cached is not None:
                self._matches.move_to_end(text)
                return cached
        found = self._match(text, deadline)
        with self._lock:
            self._matches[text] = found
            if len(self._matches) > _CACHE_SIZE:
                self._matches.popitem(last=False)
        return found

    def word_matches(self, words: tuple[str, ...]) -> _Matches:
        """The entries holding every one of ``words`` among their content words (the
        ``words`` field's postings, intersected), with the least frequency of the words in
        each as its frequency; cached per snapshot."""
        with self._lock:
            cached = self._word_matches.get(words)
            if cached is not None:
                self._word_matches.move_to_end(words)
                return cached
        docnums: Array | None = None
        least: Array | None = None
        for word in sorted(words, key=lambda w: self.frequency("words", w)):
            ids, frequencies = self._postings("words", [word])
            if docnums is None or least is None:
                docnums, least = ids, frequencies
            else:
                chosen = np.zeros(self.size)
                chosen[ids] = frequencies
                held = chosen[docnums]
                keep = held > 0
                docnums, least = docnums[keep], np.minimum(least[keep], held[keep])
            if not len(docnums):
                break
        assert docnums is not None
        assert least is not None
        keep = self.live[docnums]
        found = _Matches(docnums[keep], np.zeros(int(keep.sum())), least[keep])
        with self._lock:
            self._word_matches[words] = found
            if len(self._word_matches) > _CACHE_SIZE:
                self._word_matches.popitem(last=False)
        return found

    def _match(self, text: Text, deadline: float) -> _Matches:
        fieldname = "title" if text.field == "title" else "all"
        tokens = query_terms(text.text)
        terms = list(dict.fromkeys(tokens))
        frequency = self.frequency
        if len(tokens) == 1:
            # One token (a bigram, a word, one kanji): its postings are exactly the measures
            # that contain it, and their weights are its frequencies. Nothing to verify.
            expanded = self.expand_prefix(fieldname, terms[0]) if _single_cjk(terms[0]) else terms
            if len(expanded) > _PREFIX_TERMS_AT_MOST:
                return self._scan(text)  # one common kanji: hundreds of posting lists
            docnums, in_field = self._postings(fieldname, expanded)
            keep = self.live[docnums]
            docnums, in_field = docnums[keep], in_field[keep]
            if fieldname == "title":
                return _Matches(docnums, in_field, np.zeros(len(docnums)))
            title_docnums, in_title = self._postings("title", expanded)
            dense = np.zeros(len(self.live))
            dense[title_docnums] = in_title
            title = dense[docnums]
            return _Matches(docnums, title, in_field - title)
        whole = [t for t in terms if not _single_cjk(t)]
        rarest = sorted(whole, key=lambda t: frequency(fieldname, t))
        overlapping = _has_border(text.text)  # "2 2": the scan's split would miss overlaps
        if rarest and (overlapping or frequency(fieldname, rarest[0]) <= _VERIFY_AT_MOST):
            candidates, _ = self._postings(fieldname, rarest[:1])
            return self._verify(text, candidates[self.live[candidates]], deadline)
        # No token of two characters to narrow it down (市(区), or even the rarest one is
        # everywhere: one scan of all text costs less than reading postings.
        return self._scan(text)

    def _scan(self, text: Text) -> _Matches:
        """Find ``text`` by scanning all normalised text at once (about 20 ms at 100k entries,
        whatever the term), for terms whose candidates would take longer to verify."""
        needle = text.text
        # str.split finds every occurrence in C; the lengths of the pieces give the positions.
        lengths = np.fromiter(map(len, self.corpus.split(needle)), np.int64)
        positions = np.cumsum(lengths[:-1] + len(needle)) - len(needle)
        if _edge_pattern(needle) is not None:  # a Latin word matches only whole
            corpus, end = self.corpus, len(needle)
            positions = np.array(
                [p for p in positions.tolist() if _whole_word(corpus, p, p + end)], np.int64
            )
        entry = np.searchsorted(self.corpus_starts, positions, side="right") - 1
        in_title = positions + len(needle) <= self.title_ends[entry]
        if text.field == "title":
            entry, in_title = entry[in_title], in_title[in_title]
        entries, inverse = np.unique(entry, return_inverse=True)
        title = np.bincount(inverse, weights=in_title, minlength=len(entries))
        every = np.bincount(inverse, minlength=len(entries)).astype(np.float64)
        keep = self.live[entries]  # the text holds deleted entries too
        return _Matches(entries[keep], title[keep], (every - title)[keep])

    def _postings(self, fieldname: str, terms: Sequence[str]) -> tuple[Array, Array]:
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

    def _verify(self, text: Text, candidates: Array, deadline: float) -> _Matches:
        """Keep the candidates whose normalised text contains ``text``, counting it."""
        needle = text.text
        pattern = _edge_pattern(needle)
        title_only = text.field == "title"
        corpus = self.corpus
        spans = zip(
            candidates.tolist(),
            self.corpus_starts[candidates].tolist(),
            self.title_ends[candidates].tolist(),
            self.rest_starts[candidates].tolist(),
            self.corpus_ends[candidates].tolist(),
            strict=True,
        )
        found: list[int] = []
        in_title: list[int] = []
        in_rest: list[int] = []
        for count, (docnum, start, title_end, rest_start, end) in enumerate(spans):
            if count % 4096 == 0 and time.monotonic() > deadline:
                raise SearchTimeout("the search took too long")
            value = corpus[start : title_end if title_only else end]
            if needle in value and (pattern is None or pattern.search(value)):
                found.append(docnum)
                in_title.append(corpus.count(needle, start, title_end))
                in_rest.append(0 if title_only else corpus.count(needle, rest_start, end))
        return _Matches(
            np.array(found, dtype=np.int64),
            np.array(in_title, dtype=np.float64),
            np.array(in_rest, dtype=np.float64),
        )

    # -- evaluation --------------------------------------------------------------------

    def evaluate(self, node: Node, deadline: float, by_words: bool = False) -> Array:
        """Sorted docnums of the live entries that match ``node``: exactly, or ``by_words``
        also where a term's content words all occur. An excluded term is always matched
        exactly, so the hits by words are a superset of the exact hits."""
        if isinstance(node, Text):
            exact = self.matches(node, deadline).docnums
            if not (by_words and node.words):
                return exact
            chosen = np.zeros(self.size, dtype=bool)
            chosen[exact] = True
            chosen[self.word_matches(node.words).docnums] = True
            return np.flatnonzero(chosen)
        if isinstance(node, Years):
            return np.flatnonzero(self.live & (self.year >= node.first) & (self.year <= node.last))
        if isinstance(node, Exact) and node.column == "number":
            wanted = [
                code
                for code, value in enumerate(self.number.values)
                if label_value("number", str(value)) == node.value
            ]
            return np.flatnonzero(self.live & np.isin(self.number.codes, wanted))
        if isinstance(node, Exact):
            as_is = node.column in ("status", "grade")  # the others go by their key
            value = node.value if as_is else department_key(node.value)
            docnums, _ = self._postings(node.column, [value])
            return docnums[self.live[docnums]]
        if isinstance(node, Tag):
            docnums, _ = self._postings("tag", [tag_term(node.status, node.year)])
            return docnums[self.live[docnums]]
        # Set algebra on sorted docnums through a mask over all entries: linear, where
        # numpy's intersect1d/union1d sort the two sets together.
        if isinstance(node, Or):
            chosen = np.zeros(self.size, dtype=bool)
            for child in node.children:
                chosen[self.evaluate(child, deadline, by_words)] = True
            return np.flatnonzero(chosen)
        if isinstance(node, And):
            positive = [c for c in node.children if not isinstance(c, Not)]
            sets = sorted((self.evaluate(c, deadline, by_words) for c in positive), key=len)
            found = sets[0]
            for other in sets[1:]:
                chosen = np.zeros(self.size, dtype=bool)
                chosen[other] = True
                found = found[chosen[found]]
            for child in node.children:
                if isinstance(child, Not) and len(found):
                    chosen = np.zeros(self.size, dtype=bool)
                    chosen[self.evaluate(child.child, deadline)] = True
                    found = found[~chosen[found]]
            return found
        raise AssertionError(f"a query cannot start with {node!r}")  # parse_query forbids it

    def restrict(self, found: Array, options: SearchOptions) -> Array:
        allowed = np.zeros(len(self.live), dtype=bool)
        for kind in options.kinds:
            if kind in self.kind_mask:
                allowed |= self.kind_mask[kind]
        if options.fiscal_years is not None:
            allowed &= np.isin(self.year, list(options.fiscal_years))
        if options.measure_ids is not None:
            allowed &= np.isin(self.measure_id, np.fromiter(options.measure_ids, np.int64))
        if options.document_ids is not None:
            allowed &= np.isin(self.document_id, np.fromiter(options.document_ids, np.int64))
        if options.departments is not None:
            ids = [self.department_ids.get(department_key(n), -1) for n in options.departments]
            in_departments = np.zeros(len(self.live), dtype=bool)
            in_departments[self.pair_doc[np.isin(self.pair_department, ids)]] = True
            allowed &= in_departments
        return found[allowed[found]]

    # -- ranking and facets ------------------------------------------------------------

    def ranked(
        self,
        found: Array,
        weighted: list[tuple[Text, float]],
        sort: str,
        count: int,
        exact: Array | None = None,
    ) -> list[tuple[int, float]]:
        """The first ``count`` of ``found`` in ``sort`` order, with BM25 scores.

        BM25 over two groups: the title (weight 3) and everything else (weight 1), with the
        frequencies each term's matches carry (a term matched by words only: the least
        frequency of its words, counted with the rest). ``exact`` (aligned with ``found``)
        marks the exact hits when some are not: they come first in relevance order, and
        first within each year in year order.
        """
        scores = np.zeros(len(found))
        title_norm, rest_norm = self.title_norm[found], self.rest_norm[found]
        for text, idf in weighted:
            matches = self.matches(text, time.monotonic() + SEARCH_TIMEOUT)
            # The term's frequencies spread over all entries, then read for the hits.
            dense = np.zeros(self.size)
            dense[matches.docnums] = matches.in_title
            title = dense[found]
            dense[:] = 0
            if exact is not None and text.words:
                by_words = self.word_matches(text.words)
                dense[by_words.docnums] = by_words.in_rest
            dense[matches.docnums] = matches.in_rest  # where it matches exactly, that counts
            rest = dense[found]
            score = _TITLE_WEIGHT * (_K1 + 1) * title / (title + title_norm)
            score += (_K1 + 1) * rest / (rest + rest_norm)
            scores += idf * score
        rank = self.rank[found]
        words_only = None if exact is None else ~exact
        if sort in ("fiscalYear", "-fiscalYear"):
            # Year, then score, then the unique tie-break rank: a total order.
            year = self.year[found] if sort == "fiscalYear" else -self.year[found]
            if words_only is None:
                first = np.lexsort((rank, -scores, year))[:count]
            else:
                first = np.lexsort((rank, -scores, words_only, year))[:count]
        else:
            # One float per hit, compared in C: the score, then the unique tie-break rank
            # (scores stay far below 2**53 / 2**24, so both parts are exact).
            keys = rank - scores * _SCORE_SCALE
            if words_only is None:
                first = _top(keys, np.arange(len(keys)), count)
            else:  # the exact hits, then the others, each group by its keys
                exact_hits = np.flatnonzero(~words_only)
                first = np.concatenate(
                    (
                        _top(keys, exact_hits, count),
                        _top(keys, np.flatnonzero(words_only), count - len(exact_hits)),
                    )
                )
        return [(int(found[i]), float(scores[i])) for i in first]

    def facets(
        self, found: Array, is_exact: Array | None = None
    ) -> tuple[list[Facet], list[Facet]]:
        """Counts by year and department over ``found``, and over its exact hits (those
        ``is_exact`` marks; all of them when None), in one pass."""
        first_year = self.first_year
        found_years = self.year[found] - first_year
        per_year = np.bincount(found_years)  # a count, not a sort
        exact_per_year = (
            per_year
            if is_exact is None
            else np.bincount(found_years[is_exact], minlength=len(per_year))
        )
        years = np.flatnonzero(per_year)
        # 0: not a hit, 1: a hit by words only, 2: an exact hit
        chosen = np.zeros(len(self.live), dtype=np.int8)
        chosen[found] = 2 if is_exact is None else 1 + is_exact
        of_pair = chosen[self.pair_doc]
        size = len(self.department_names)
        per_department = np.bincount(self.pair_department[of_pair > 0], minlength=size)
        exact_per_department = (
            per_department
            if is_exact is None
            else np.bincount(self.pair_department[of_pair == 2], minlength=size)
        )
        departments = sorted(
            (-int(c), self.department_names[i], int(exact_per_department[i]))
            for i, c in enumerate(per_department)
            if c
        )
        return (
            [Facet(str(y + first_year), int(per_year[y]), int(exact_per_year[y])) for y in years],
            [Facet(name, -negative, exact) for negative, name, exact in departments],
        )

    def matched_terms(
        self, docnum: int, texts: Iterable[Text], by_words: bool = False
    ) -> tuple[str, ...]:
        """The terms found in the hit's text; ``by_words``, for a term not found as it is,
        those of its words that are (a word Sudachi found in another form is not marked)."""
        title, joined = self.title(docnum), self.joined(docnum)
        found: list[str] = []
        for text in texts:
            if text.text in (title if text.field == "title" else joined):
                found.append(text.text)
            elif by_words:
                found += [word for word in text.words if word in joined]
        return tuple(dict.fromkeys(found))

    def label_matches(
        self, labels: Iterable[Tag | Exact], deadline: float
    ) -> list[tuple[str, Array]]:
        """Each label term of a query with the entries it matches, by the highlight name of
        what it matches ("carry_over", "grade", "number"): found once per search."""
        return [
            (
                "carry_over" if isinstance(label, Tag) else LABELS[label.column],
                self.evaluate(label, deadline),
            )
            for label in labels
        ]

    @staticmethod
    def matched_labels(docnum: int, matches: list[tuple[str, Array]]) -> tuple[str, ...]:
        """The labels of the hit that the query's label terms (``label_matches``) match."""
        found = []
        for name, docnums in matches:
            at = int(np.searchsorted(docnums, docnum))
            if at < len(docnums) and docnums[at] == docnum:
                found.append(name)
        return tuple(dict.fromkeys(found))

    def hit(
        self,
        docnum: int,
        score: float,
        matched: tuple[str, ...],
        matched_by: str = "exact",
        labels: tuple[str, ...] = (),
    ) -> Hit:
        measure_id = int(self.measure_id[docnum])
        return Hit(
            key=self.keys[docnum],
            kind=self.kind.value(docnum),
            measure_id=None if measure_id < 0 else measure_id,
            document_id=int(self.document_id[docnum]),
            fiscal_year=int(self.year[docnum]),
            municipality=self.municipality.value(docnum),
            number=self.number.value(docnum),
            score=round(score, 4),
            matched=matched,
            matched_by=matched_by,
            labels=labels,
        )


class Searcher:
    """Searches the index under ``root``; one per process, safe to share between threads."""

    def __init__(self, root: Path, synonyms: dict[str, tuple[str, ...]] | None = None) -> None:
        self.root = root
        self.synonyms = synonyms
        self._snapshot: _Snapshot | None = None
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
    def snapshot(self) -> Iterator[_Snapshot]:
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
                    fresh = _Snapshot(self.root / name, int(commit))
                except FileNotFoundError:  # a commit replaced the TOC while we opened it
                    if attempt == 4:
                        raise IndexNotBuilt(_DAMAGED.format("a file is missing")) from None
                    continue
                except IndexOutdated as outdated:
                    raise IndexNotBuilt(str(outdated)) from None
                except Damaged as damaged:
                    raise IndexNotBuilt(_DAMAGED.format(damaged)) from None
                if current is not None:
                    self._retire(current)
                self._snapshot = current = fresh
                _keep_out_of_gc()
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

    def _retire(self, snapshot: _Snapshot) -> None:
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
            deadline = time.monotonic() + options.timeout
            return self._search(snapshot, tree, options, deadline)

    def _search(
        self, snapshot: _Snapshot, tree: Node, options: SearchOptions, deadline: float
    ) -> Results:
        exact = snapshot.restrict(snapshot.evaluate(tree, deadline), options)
        texts = list(dict.fromkeys(positive_texts(tree)))
        labels = list(dict.fromkeys(positive_labels(tree)))
        by_words = not options.exact_only and any(text.words for text in texts)
        found = (
            snapshot.restrict(snapshot.evaluate(tree, deadline, True), options)
            if by_words
            else exact
        )
        if time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")
        is_exact: Array | None = None  # aligned with found, when some hits are by words only
        exact_mask: Array | None = None  # by docnum
        if len(found) > len(exact):
            exact_mask = np.zeros(snapshot.size, dtype=bool)
            exact_mask[exact] = True
            is_exact = exact_mask[found]
        weighted = []
        for text in texts:
            frequency = len(snapshot.matches(text, deadline).docnums)
            idf = math.log(1 + (snapshot.population - frequency + 0.5) / (frequency + 0.5))
            weighted.append((text, idf))
        end = options.offset + options.limit
        ranked = max([end, *(at + 1 for at in options.digests_at)])
        page = snapshot.ranked(found, weighted, options.sort, ranked, is_exact)
        digests, digest, wanted = {}, "", set(options.digests_at)
        for at, (docnum, _) in enumerate(page[: max(wanted, default=-1) + 1]):
            digest = chain_keys(digest, (snapshot.keys[docnum],))
            if at in wanted:
                digests[at] = digest
        years, departments = snapshot.facets(found, is_exact)
        if time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")
        label_matches = snapshot.label_matches(labels, deadline)
        hits = []
        for docnum, score in page[options.offset : end]:
            words = exact_mask is not None and not exact_mask[docnum]
            matched = snapshot.matched_terms(docnum, texts, by_words=words)
            found_labels = snapshot.matched_labels(docnum, label_matches)
            kind = "words" if words else "exact"
            hits.append(snapshot.hit(docnum, score, matched, kind, found_labels))
        return Results(
            total=len(found),
            hits=hits,
            fiscal_years=years,
            departments=departments,
            generation=snapshot.generation,
            digests=digests,
            exact_total=len(exact),
        )


def _top(keys: Array, among: Array, count: int) -> Array:
    """The ``count`` of ``among`` (positions in ``keys``) with the smallest keys, in order."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count < len(among):
        among = among[np.argpartition(keys[among], count)[:count]]
    return among[np.argsort(keys[among], kind="stable")]


def _keep_out_of_gc() -> None:
    """Move what the process holds now, the new snapshot included, out of the garbage
    collector's reach, after letting it collect what the previous snapshot left.

    A snapshot at 100,000 measures is millions of objects. Python's full collections walk
    every one of them, and GraphQL execution allocates enough to trigger them often: with
    two workers, the uncached list page went from 70 to 120 req/s and its p95 from 359 to
    87 ms once the snapshot was frozen (``gc.freeze``). The snapshot is read-only, so it is
    never garbage while it is current; this runs once per index commit.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _has_border(needle: str) -> bool:
    """Whether a proper prefix of ``needle`` is also its suffix, so occurrences can overlap."""
    return any(needle[:k] == needle[-k:] for k in range(1, len(needle)))


def _single_cjk(term: str) -> bool:
    return len(term) == 1 and is_cjk(term)


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is not part of a longer word (Latin, digits, any script
    but kanji and kana, exactly the runs the analysis makes words of)."""
    before = start > 0 and is_word(text[start]) and is_word(text[start - 1])
    after = end < len(text) and is_word(text[end - 1]) and is_word(text[end])
    return not (before or after)


def _edge_pattern(needle: str) -> re.Pattern[str] | None:
    """Words match whole: ``lan`` must not match inside ``planning``."""
    before, after = is_word(needle[0]), is_word(needle[-1])
    if not (before or after):
        return None
    return re.compile(
        (f"(?<!{WORD_CLASS})" if before else "")
        + re.escape(needle)
        + (f"(?!{WORD_CLASS})" if after else "")
    )


# -- highlights ---------------------------------------------------------------------------

FRAGMENT_CONTEXT = 40  # characters of context on each side of a match
# Matches this close share a fragment, up to this extent: a long text dense with matches (a
# document archived without structure) gives fragments, not its whole self as one.
FRAGMENT_SPAN = 2 * FRAGMENT_CONTEXT
MAX_FRAGMENTS = 3


@dataclass(frozen=True)
class Highlight:
    field: str
    fragments: list[str]


def highlight(fields: dict[str, str], terms: Sequence[str]) -> list[Highlight]:
    """For each field where a term occurs: fragments of the original text around the matches,
    HTML-escaped, the matched text in ``<mark>…</mark>``."""
    highlights = []
    for name, original in fields.items():
        spans = _spans(original, terms)
        if spans:
            highlights.append(Highlight(name, _fragments(original, spans)))
    return highlights


def highlight_labels(labels: Iterable[str], printed: Mapping[str, str]) -> list[Highlight]:
    """Highlights of the labels a hit matched (``Hit.labels``): each label as printed,
    HTML-escaped, all of it in ``<mark>…</mark>`` (a tag or a grade matches as a whole)."""
    return [
        Highlight(name, [f"<mark>{escape(printed[name])}</mark>"])
        for name in labels
        if printed.get(name)
    ]


def _spans(original: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    # Most fields of a hit hold none of the terms: find that out on the fast normalisation
    # (the same text, held equal by a property test) before the one that keeps offsets.
    quick = normalize_text(original)
    if not any(term in quick for term in terms):
        return []
    normalized = normalize(original)
    spans = []
    for term in terms:
        pattern = _edge_pattern(term) or re.compile(re.escape(term))
        for match in pattern.finditer(normalized.text):
            start = normalized.origin[match.start()]
            end = normalized.origin[match.end() - 1] + 1
            while end < len(original) and _is_mark(original[end]):
                end += 1  # keep ｶﾞ's voicing mark inside the <mark>
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _fragments(original: str, spans: list[tuple[int, int]]) -> list[str]:
    windows: list[list[tuple[int, int]]] = []
    for span in spans:
        if (
            windows
            and span[0] - windows[-1][-1][1] <= 2 * FRAGMENT_CONTEXT
            and span[1] - windows[-1][0][0] <= FRAGMENT_SPAN
        ):
            windows[-1].append(span)
        else:
            windows.append([span])
    fragments = []
    for number, window in enumerate(windows[:MAX_FRAGMENTS]):
        # A fragment's context stops short of the neighbouring fragments' matches, which
        # would show unmarked in it.
        floor = windows[number - 1][-1][1] if number else 0
        ceiling = windows[number + 1][0][0] if number + 1 < len(windows) else len(original)
        start = max(floor, window[0][0] - FRAGMENT_CONTEXT)
        end = min(ceiling, window[-1][1] + FRAGMENT_CONTEXT)
        limit_start, limit_end = max(floor, start - 20), min(ceiling, end + 20)
        while start > limit_start and _latin_pair(original, start - 1):
            start -= 1  # do not cut a Latin word in two (but do cut a very long one)
        while end < limit_end and _latin_pair(original, end - 1):
            end += 1
        parts = ["…" if start > 0 else ""]
        cursor = start
        for span_start, span_end in window:
            parts.append(escape(original[cursor:span_start]))
            parts.append(f"<mark>{escape(original[span_start:span_end])}</mark>")
            cursor = span_end
        parts.append(escape(original[cursor:end]))
        parts.append("…" if end < len(original) else "")
        fragments.append(" ".join("".join(parts).split("\n")))
    return fragments


def _is_mark(char: str) -> bool:
    return unicodedata.combining(char) > 0 or char in "\uff9e\uff9f"


def _latin_pair(text: str, i: int) -> bool:
    return text[i : i + 2].isascii() and text[i : i + 2].isalnum()
