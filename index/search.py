"""Searching: exact matches, ranked, with facets over the whole result and highlights per page.

Counts must be exact, because researchers read ``totalCount`` and the facets. An AND of
bigrams over-matches where the pieces recur apart (令和2年度 at 100k measures: 44,919 hits
for 15,797 true ones), so Whoosh is used only for what it is fast at: the postings of a few
of the query's rarest terms give a candidate set, intersected as Python sets. Each candidate
is then verified against its normalised text, held in memory per index generation, with a
substring test (and whole-word edges for Latin). What survives is exactly the set of
measures that contain the query.

Ranking is BM25 over the verified set, with term frequencies counted in the normalised
fields and a weight per field (a title match counts most). Facets count the same set.

A ``Searcher`` is made once per process and reused: it reopens its snapshot only when the
index has a new generation or commit, and it caches verified term sets for the snapshot.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from archive.parse import department_key
from index.analysis import normalize, query_terms
from index.fields import SEPARATOR
from index.query import And, Exact, Node, Not, Or, Text, Years, parse_query, positive_texts
from index.writing import current_dir

SEARCH_TIMEOUT = 5.0
_SCORE_SCALE = float(1 << 24)  # above any tie-break rank: an archive of up to 16M entries
_YEAR_SCALE = _SCORE_SCALE * 1e6  # above any score × _SCORE_SCALE
_TITLE_WEIGHT = 3.0  # a match in the title counts three times one in any other field
_K1, _B = 1.2, 0.75
_CANDIDATE_TERMS = 3  # intersect the postings of at most this many of the rarest terms
_CACHE_SIZE = 512
_LATIN = "0-9a-z"


class SearchTimeout(RuntimeError):
    """The search ran past its time limit."""


class IndexNotBuilt(RuntimeError):
    """There is no index yet: ingest a report or run ``plan-archive reindex``."""


@dataclass(frozen=True)
class Facet:
    value: str
    count: int


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
    matched: tuple[str, ...]  # normalised terms this hit is highlighted for


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[Hit]
    fiscal_years: list[Facet]
    departments: list[Facet]
    generation: str  # changes whenever the index does; cursors are only valid within one


@dataclass(frozen=True)
class SearchOptions:
    fiscal_years: Sequence[int] | None = None
    departments: Sequence[str] | None = None
    kinds: Sequence[str] = ("measure", "document")
    sort: str = "relevance"  # or "fiscalYear", "-fiscalYear"
    offset: int = 0
    limit: int = 20
    timeout: float = SEARCH_TIMEOUT


@dataclass(frozen=True)
class _Matches:
    """The measures that contain a term, and for a one-token term its frequencies per docnum
    in the title and in all fields (read from the postings)."""

    found: frozenset[int]
    in_title: dict[int, float] | None
    in_field: dict[int, float] | None


@dataclass
class _Doc:
    key: str
    kind: str
    measure_id: int | None
    document_id: int
    fiscal_year: int
    municipality: str
    number: str | None
    status: str | None
    departments: list[str]
    normalized: dict[str, str]
    # Precomputed at load for the hot loops. ``joined``: every field (the separator stops a
    # match from spanning two fields); ``rest``: every field but the title. ``title_norm`` and
    # ``rest_norm``: BM25's k1 × length normalisation of each. ``rank``: position in the
    # tie-break order (newest year first, then municipality, number, key).
    joined: str = ""
    title: str = ""
    rest: str = ""
    title_norm: float = 0.0
    rest_norm: float = 0.0
    rank: int = 0


class _Snapshot:
    """One committed state of the index, loaded into memory for exact matching."""

    def __init__(self, folder: Path) -> None:
        self.index = whoosh_index.open_dir(str(folder))
        self.generation = f"{folder.name}.{self.index.latest_generation()}"
        self.searcher = self.index.searcher()
        self.reader = self.searcher.reader()
        self.docs: dict[int, _Doc] = {}
        self.by_year: dict[int, set[int]] = {}
        self.by_department: dict[str, set[int]] = {}
        self.department_names: dict[str, str] = {}  # key -> name as first printed
        self.by_kind: dict[str, set[int]] = {}
        totals: Counter[str] = Counter()
        for docnum, stored in self.reader.iter_docs():
            data = stored["data"]
            doc = _Doc(
                key=stored["key"],
                kind=data["kind"],
                measure_id=data["measure_id"],
                document_id=data["document_id"],
                fiscal_year=data["fiscal_year"],
                municipality=data["municipality"],
                number=data["number"],
                status=data["status"],
                departments=data["departments"],
                normalized=data["normalized"],
            )
            doc.joined = SEPARATOR.join(doc.normalized.values())
            doc.title = doc.normalized.get("title", "")
            doc.rest = SEPARATOR.join(v for k, v in doc.normalized.items() if k != "title")
            totals["title"] += len(doc.title)
            totals["rest"] += len(doc.rest)
            self.docs[docnum] = doc
            self.by_year.setdefault(doc.fiscal_year, set()).add(docnum)
            self.by_kind.setdefault(doc.kind, set()).add(docnum)
            for name in doc.departments:
                key = department_key(name)
                self.by_department.setdefault(key, set()).add(docnum)
                self.department_names.setdefault(key, name)
        self.universe = set(self.docs)
        count = max(len(self.docs), 1)
        title_average = (totals["title"] / count) or 1.0
        rest_average = (totals["rest"] / count) or 1.0
        for doc in self.docs.values():
            doc.title_norm = _K1 * (1 - _B + _B * len(doc.title) / title_average)
            doc.rest_norm = _K1 * (1 - _B + _B * len(doc.rest) / rest_average)
        order = sorted(
            self.docs.items(),
            key=lambda item: (
                -item[1].fiscal_year,
                item[1].municipality,
                item[1].number or "",
                item[1].key,
            ),
        )
        size = max(self.docs, default=-1) + 1
        self.rank_by_docnum = [0] * size
        self.year_by_docnum = [0] * size
        for rank, (docnum, doc) in enumerate(order):
            doc.rank = rank
            self.rank_by_docnum[docnum] = rank
            self.year_by_docnum[docnum] = doc.fiscal_year
        self._matches: OrderedDict[Text, _Matches] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.searcher.close()

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

    def _match(self, text: Text, deadline: float) -> _Matches:
        fieldname = "title" if text.field == "title" else "all"
        tokens = query_terms(text.text)
        terms = list(dict.fromkeys(tokens))
        if len(tokens) == 1:
            # One token (a bigram, a word, one kanji): its postings are exactly the measures
            # that contain it, and their weights are its frequencies. No verification needed.
            expanded = (
                [_text(t) for t in self.reader.expand_prefix(fieldname, terms[0])]
                if _single_cjk(terms[0])
                else terms
            )
            in_field = self._frequencies(fieldname, expanded)
            in_title = in_field if fieldname == "title" else self._frequencies("title", expanded)
            found = frozenset(in_field.keys() & self.docs.keys())
            return _Matches(found, in_title, None if fieldname == "title" else in_field)
        whole = [t for t in terms if not _single_cjk(t)]
        rarest = sorted(whole, key=lambda t: self.reader.doc_frequency(fieldname, t))
        sets = sorted((self._postings(fieldname, t) for t in rarest[:_CANDIDATE_TERMS]), key=len)
        candidates = sets[0]
        for other in sets[1:]:
            candidates &= other
        return _Matches(frozenset(self._verify(text, candidates, deadline)), None, None)

    def _postings(self, fieldname: str, term: str) -> set[int]:
        """Docnums of a term, read a block of postings at a time (not a posting at a time)."""
        found: set[int] = set()
        for segment, base in self.reader.leaf_readers():
            if segment.doc_frequency(fieldname, term) == 0:
                continue
            for ids, _ in _blocks(segment.postings(fieldname, term), weights=False):
                found.update(map(base.__add__, ids) if base else ids)
        return found

    def _frequencies(self, fieldname: str, terms: Iterable[str]) -> dict[int, float]:
        """Docnum -> summed frequency of ``terms`` in ``fieldname``."""
        frequencies: dict[int, float] = {}
        for term in terms:
            for segment, base in self.reader.leaf_readers():
                if segment.doc_frequency(fieldname, term) == 0:
                    continue
                for ids, weights in _blocks(segment.postings(fieldname, term), weights=True):
                    docnums = map(base.__add__, ids) if base else ids
                    if not frequencies:
                        frequencies = dict(zip(docnums, weights, strict=True))
                        continue
                    get = frequencies.get
                    for docnum, weight in zip(docnums, weights, strict=True):
                        frequencies[docnum] = get(docnum, 0.0) + weight
        return frequencies

    def _verify(self, text: Text, candidates: Iterable[int], deadline: float) -> Iterable[int]:
        needle = text.text
        pattern = _edge_pattern(needle)
        title_only = text.field == "title"
        docs = self.docs
        for count, docnum in enumerate(candidates):
            if count % 4096 == 0 and time.monotonic() > deadline:
                raise SearchTimeout("the search took too long")
            doc = docs.get(docnum)
            if doc is None:
                continue  # deleted in this generation
            value = doc.title if title_only else doc.joined
            if needle in value and (pattern is None or pattern.search(value)):
                yield docnum

    # -- evaluation --------------------------------------------------------------------

    def evaluate(self, node: Node, deadline: float) -> set[int]:
        if isinstance(node, Text):
            return set(self.matches(node, deadline).found)
        if isinstance(node, Years):
            found: set[int] = set()
            for year in range(node.first, node.last + 1):
                found |= self.by_year.get(year, set())
            return found
        if isinstance(node, Exact):
            value = node.value if node.column == "status" else department_key(node.value)
            return self._postings(node.column, value)
        if isinstance(node, Or):
            found = set()
            for child in node.children:
                found |= self.evaluate(child, deadline)
            return found
        if isinstance(node, And):
            positive = [c for c in node.children if not isinstance(c, Not)]
            sets = sorted((self.evaluate(c, deadline) for c in positive), key=len)
            found = sets[0]
            for other in sets[1:]:
                found &= other
            for child in node.children:
                if isinstance(child, Not) and found:
                    found -= self.evaluate(child.child, deadline)
            return found
        raise AssertionError(f"a query cannot start with {node!r}")  # parse_query forbids it

    # -- ranking -----------------------------------------------------------------------

    def ranked(
        self, found: Iterable[int], weighted: list[tuple[Text, float]], sort: str, count: int
    ) -> list[tuple[int, float]]:
        """The first ``count`` of ``found`` in ``sort`` order, with BM25 scores.

        BM25 over two groups: the title (weight 3) and everything else (weight 1). A one-token
        term takes its frequencies from the postings; a longer one counts in the text.
        """
        docs = self.docs
        found = set(found)
        scores: dict[int, float] = {}  # only the hits with a score above zero
        get = scores.get
        title_factor, rest_factor = _TITLE_WEIGHT * (_K1 + 1), _K1 + 1
        for text, idf in weighted:
            matches = self.matches(text, time.monotonic() + SEARCH_TIMEOUT)
            in_title, in_field = matches.in_title, matches.in_field
            if in_title is not None:
                title_get = in_title.get
                field_get = in_field.get if in_field is not None else None
                for docnum in matches.found & found:
                    doc = docs[docnum]
                    title = title_get(docnum, 0.0)
                    rest = field_get(docnum, 0.0) - title if field_get is not None else 0.0
                    score = title_factor * title / (title + doc.title_norm) if title else 0.0
                    if rest > 0:
                        score += rest_factor * rest / (rest + doc.rest_norm)
                    scores[docnum] = get(docnum, 0.0) + idf * score
                continue
            needle = text.text
            title_only = text.field == "title"
            for docnum in matches.found & found:
                doc = docs[docnum]
                title = doc.title.count(needle)
                rest = 0 if title_only else doc.rest.count(needle)
                score = title_factor * title / (title + doc.title_norm) if title else 0.0
                if rest:
                    score += rest_factor * rest / (rest + doc.rest_norm)
                scores[docnum] = get(docnum, 0.0) + idf * score
        # One float per hit, compared in C: the year (if sorting by it), then the score, then
        # the precomputed tie-break rank, which is unique, so the order is total.
        direction = {"fiscalYear": 1.0, "-fiscalYear": -1.0}.get(sort, 0.0)
        rank, year = self.rank_by_docnum, self.year_by_docnum
        keys = [
            direction * year[d] * _YEAR_SCALE - get(d, 0.0) * _SCORE_SCALE + rank[d] for d in found
        ]
        best = heapq.nsmallest(count, zip(keys, found, strict=True))
        return [(docnum, get(docnum, 0.0)) for _, docnum in best]

    def matched_terms(self, docnum: int, texts: Iterable[Text]) -> tuple[str, ...]:
        doc = self.docs[docnum]
        return tuple(
            text.text
            for text in texts
            if text.text
            in (doc.normalized.get("title", "") if text.field == "title" else doc.joined)
        )


class Searcher:
    """Searches the index under ``root``; one per process, safe to share between threads."""

    def __init__(self, root: Path, synonyms: dict[str, tuple[str, ...]] | None = None) -> None:
        self.root = root
        self.synonyms = synonyms
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> _Snapshot:
        """The newest committed state; reopened only when the index changed."""
        folder = current_dir(self.root)
        if folder is None:
            raise IndexNotBuilt("there is no search index yet; ingest a report or run reindex")
        with self._lock:
            current = self._snapshot
            latest = f"{folder.name}.{whoosh_index.open_dir(str(folder)).latest_generation()}"
            if current is None or current.generation != latest:
                if current is not None:
                    current.close()
                self._snapshot = current = _Snapshot(folder)
            return current

    def close(self) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.close()
                self._snapshot = None

    def search(self, query: str, options: SearchOptions | None = None) -> Results:
        options = options or SearchOptions()
        deadline = time.monotonic() + options.timeout
        tree = (
            parse_query(query, self.synonyms) if self.synonyms is not None else parse_query(query)
        )
        snapshot = self.snapshot()
        found = snapshot.evaluate(tree, deadline)
        found &= _restriction(snapshot, options)
        if time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")
        texts = list(dict.fromkeys(positive_texts(tree)))
        population = max(len(snapshot.universe), 1)
        weighted = []
        for text in texts:
            frequency = len(snapshot.matches(text, deadline).found)
            idf = math.log(1 + (population - frequency + 0.5) / (frequency + 0.5))
            weighted.append((text, idf))
        page = snapshot.ranked(found, weighted, options.sort, options.offset + options.limit)
        page = page[options.offset :]
        if time.monotonic() > deadline:
            raise SearchTimeout("the search took too long")
        # Facets by set intersection in C, per value, instead of a Python loop per hit.
        years = {str(y): len(found & docs) for y, docs in snapshot.by_year.items()}
        departments = {
            snapshot.department_names[key]: len(found & docs)
            for key, docs in snapshot.by_department.items()
        }
        return Results(
            total=len(found),
            hits=[
                _hit(snapshot.docs[docnum], score, snapshot.matched_terms(docnum, texts))
                for docnum, score in page
            ],
            fiscal_years=[Facet(v, c) for v, c in sorted(years.items()) if c],
            departments=[
                Facet(v, c)
                for v, c in sorted(departments.items(), key=lambda i: (-i[1], i[0]))
                if c
            ],
            generation=snapshot.generation,
        )


def _restriction(snapshot: _Snapshot, options: SearchOptions) -> set[int]:
    allowed: set[int] = set()
    for kind in options.kinds:
        allowed |= snapshot.by_kind.get(kind, set())
    if options.fiscal_years is not None:
        years: set[int] = set()
        for year in options.fiscal_years:
            years |= snapshot.by_year.get(year, set())
        allowed &= years
    if options.departments is not None:
        departments: set[int] = set()
        for name in options.departments:
            departments |= snapshot.by_department.get(department_key(name), set())
        allowed &= departments
    return allowed


def _hit(doc: _Doc, score: float, matched: tuple[str, ...]) -> Hit:
    return Hit(
        key=doc.key,
        kind=doc.kind,
        measure_id=doc.measure_id,
        document_id=doc.document_id,
        fiscal_year=doc.fiscal_year,
        municipality=doc.municipality,
        number=doc.number,
        score=round(score, 4),
        matched=matched,
    )


def _blocks(matcher: Any, weights: bool) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """A leaf matcher's postings a block at a time, as (ids, weights). Whoosh's ``all_ids``
    steps through postings one Python call at a time; its block reader (the same in
    whoosh-reloaded and whoosh3) hands out whole arrays. Other matchers fall back."""
    if not (hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block")):
        ids, frequencies = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            frequencies.append(matcher.weight())
            matcher.next()
        yield ids, frequencies
        return
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        start = matcher._i
        ids = matcher._ids[start:]
        if weights:
            if matcher._weights is None:
                matcher._read_weights()
            yield ids, matcher._weights[start:]
        else:
            yield ids, ()
        matcher._next_block()


def _single_cjk(term: str) -> bool:
    return len(term) == 1 and not term.isascii()


def _text(term: Any) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else str(term)


def _edge_pattern(needle: str) -> re.Pattern[str] | None:
    """Latin words match whole: ``lan`` must not match inside ``planning``."""
    before = needle[0] in "0123456789abcdefghijklmnopqrstuvwxyz"
    after = needle[-1] in "0123456789abcdefghijklmnopqrstuvwxyz"
    if not (before or after):
        return None
    return re.compile(
        (f"(?<![{_LATIN}])" if before else "")
        + re.escape(needle)
        + (f"(?![{_LATIN}])" if after else "")
    )


# -- highlights ---------------------------------------------------------------------------

FRAGMENT_CONTEXT = 40  # characters of context on each side of a match
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


def _spans(original: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    normalized = normalize(original)
    spans = []
    for term in terms:
        pattern = _edge_pattern(term) or re.compile(re.escape(term))
        for match in pattern.finditer(normalized.text):
            start = normalized.origin[match.start()]
            end = normalized.origin[match.end() - 1] + 1
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
        if windows and span[0] - windows[-1][-1][1] <= 2 * FRAGMENT_CONTEXT:
            windows[-1].append(span)
        else:
            windows.append([span])
    fragments = []
    for window in windows[:MAX_FRAGMENTS]:
        start = max(0, window[0][0] - FRAGMENT_CONTEXT)
        end = min(len(original), window[-1][1] + FRAGMENT_CONTEXT)
        while start > 0 and _latin_pair(original, start - 1):
            start -= 1  # do not cut a Latin word in two
        while end < len(original) and _latin_pair(original, end - 1):
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


def _latin_pair(text: str, i: int) -> bool:
    return text[i : i + 2].isascii() and text[i : i + 2].isalnum()
