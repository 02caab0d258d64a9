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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from archive.parse import department_key
from index.analysis import normalize, pieces
from index.fields import SEPARATOR
from index.query import And, Exact, Node, Not, Or, Text, Years, parse_query, positive_texts
from index.writing import current_dir

SEARCH_TIMEOUT = 5.0
GROUP_WEIGHTS = {"title": 3.0, "departments": 1.5, "body": 1.0}
_GROUP = {"title": "title", "departments": "departments"}  # every other field is "body"
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
    # Precomputed at load, for the hot loops: every field joined (the separator stops a match
    # from spanning two fields), and per field (text, weight × (k1 + 1), k1 × length norm).
    joined: str = ""
    scoring: tuple[tuple[str, float, float], ...] = ()
    title_scoring: tuple[tuple[str, float, float], ...] = ()


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
            for name, text in doc.normalized.items():
                totals[_GROUP.get(name, "body")] += len(text) + 1
            self.docs[docnum] = doc
            self.by_year.setdefault(doc.fiscal_year, set()).add(docnum)
            self.by_kind.setdefault(doc.kind, set()).add(docnum)
            for name in doc.departments:
                key = department_key(name)
                self.by_department.setdefault(key, set()).add(docnum)
                self.department_names.setdefault(key, name)
        self.universe = set(self.docs)
        count = max(len(self.docs), 1)
        average = {group: (total / count) or 1.0 for group, total in totals.items()}
        for doc in self.docs.values():
            # Score three groups, not five fields: the loop runs per hit, so fewer is faster,
            # and the weights that matter are title > departments > the rest.
            groups: dict[str, list[str]] = {}
            for name, text in doc.normalized.items():
                groups.setdefault(_GROUP.get(name, "body"), []).append(text)
            doc.scoring = tuple(
                (
                    joined,
                    GROUP_WEIGHTS[group] * (_K1 + 1),
                    _K1 * (1 - _B + _B * len(joined) / average[group]),
                )
                for group, texts in groups.items()
                for joined in (SEPARATOR.join(texts),)
            )
            doc.title_scoring = tuple(
                item for item, group in zip(doc.scoring, groups, strict=True) if group == "title"
            )
        self._matches: OrderedDict[Text, frozenset[int]] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.searcher.close()

    # -- matching ----------------------------------------------------------------------

    def matches(self, text: Text, deadline: float) -> frozenset[int]:
        with self._lock:
            cached = self._matches.get(text)
            if cached is not None:
                self._matches.move_to_end(text)
                return cached
        found = frozenset(self._verify(text, self._candidates(text), deadline))
        with self._lock:
            self._matches[text] = found
            if len(self._matches) > _CACHE_SIZE:
                self._matches.popitem(last=False)
        return found

    def _candidates(self, text: Text) -> set[int]:
        fieldname = "title" if text.field == "title" else "all"
        terms = [p.text for p in pieces(text.text)]
        whole = [t for t in dict.fromkeys(terms) if not _single_cjk(t)]
        if whole:
            rarest = sorted(whole, key=lambda t: self.reader.doc_frequency(fieldname, t))
            sets = [self._postings(fieldname, t) for t in rarest[:_CANDIDATE_TERMS]]
            sets.sort(key=len)
            result = set(sets[0])
            for other in sets[1:]:
                result &= other
                if not result:
                    break
            return result
        # Only single kanji/kana: every occurrence starts an indexed bigram or is a unigram.
        result = set()
        for term in self.reader.expand_prefix(fieldname, terms[0]):
            result |= self._postings(fieldname, _text(term))
        return result

    def _postings(self, fieldname: str, term: str) -> set[int]:
        """Docnums of a term, read a block of postings at a time (not a posting at a time)."""
        found: set[int] = set()
        for segment, base in self.reader.leaf_readers():
            if segment.doc_frequency(fieldname, term) == 0:
                continue
            ids = _block_ids(segment.postings(fieldname, term))
            found.update(map(base.__add__, ids) if base else ids)
        return found

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
            value = doc.normalized.get("title", "") if title_only else doc.joined
            if needle in value and (pattern is None or pattern.search(value)):
                yield docnum

    # -- evaluation --------------------------------------------------------------------

    def evaluate(self, node: Node, deadline: float) -> set[int]:
        if isinstance(node, Text):
            return set(self.matches(node, deadline))
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
        self, found: Iterable[int], weighted_terms: list[tuple[Text, float]], sort: str, count: int
    ) -> list[tuple[int, float]]:
        """The first ``count`` of ``found`` in ``sort`` order, with BM25 scores."""
        docs = self.docs
        terms = [(text.text, idf, text.field == "title") for text, idf in weighted_terms]
        keyed: list[tuple[tuple[Any, ...], int, float]] = []
        for docnum in found:
            doc = docs[docnum]
            score = 0.0
            for needle, idf, title_only in terms:
                for value, weight, norm in doc.title_scoring if title_only else doc.scoring:
                    frequency = value.count(needle)
                    if frequency:
                        score += idf * weight * frequency / (frequency + norm)
            tie = (doc.municipality, doc.number or "", doc.key)
            if sort == "fiscalYear":
                keyed.append(((doc.fiscal_year, -score, *tie), docnum, score))
            elif sort == "-fiscalYear":
                keyed.append(((-doc.fiscal_year, -score, *tie), docnum, score))
            else:
                keyed.append(((-score, -doc.fiscal_year, *tie), docnum, score))
        return [(docnum, score) for _, docnum, score in heapq.nsmallest(count, keyed)]

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
            frequency = len(snapshot.matches(text, deadline))
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


def _block_ids(matcher: Any) -> Iterable[int]:
    """All ids of a leaf matcher. Whoosh's ``all_ids`` steps through postings one Python call
    at a time; its block reader (the same in whoosh-reloaded and whoosh3) hands out whole
    blocks. Any other matcher falls back to ``all_ids``."""
    if not (hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block")):
        yield from matcher.all_ids()
        return
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        yield from matcher._ids[matcher._i :]
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
