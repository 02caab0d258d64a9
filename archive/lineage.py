"""The same measure across years: the rule that links a measure to its other years' selves.

Reports renumber and retitle measures from year to year, split them and merge them, so the
number alone and the title alone are both unreliable. Within one municipality, the measures
of two years are paired as one assignment: each measure has at most one self in the other
year, and the pairs chosen are those with the greatest total score
(``scipy.optimize.linear_sum_assignment``), a pair scoring below ``THRESHOLD`` never being
made. A pair's score (0 to 1, ``score_matrix``) weighs, for each field printed on both sides:

- the titles (character-bigram Dice similarity after NFKC, spaces removed), weight 0.30;
- 事業内容 (the same similarity, figures' digits made alike), weight 0.35;
- 達成状況 (likewise), weight 0.05;
- the departments (Dice of their sets, a declared rename giving the newest name), 0.25;
- the pillar's title (the same similarity), 0.05;

then an identical title scores at least ``SAME_TITLE`` and the same number adds
``SAME_NUMBER`` (a tie-break). The weights and the threshold were measured on judged pairs
(``tests/archive/test_lineage.py``, ``bench/quality.py``): on the cases tuned on, every
decision is right for a threshold from 0.45 to 0.50; 0.40 links two like-titled measures
judged apart (0.42), 0.55 misses a merged measure (0.53). Each pair of years is worked out
on its own, so a history is pairwise from the measure asked about. The history is ascending
by fiscal year and includes the measure itself. A curator's link or unlink
(``archive/curation``) overrides the rule for the years it names: the measures it names take
no part in that year pair's assignment.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from cachetools import LRUCache
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from archive import curation
from archive.models import (
    Department,
    DepartmentRename,
    Document,
    Measure,
    MeasureDepartment,
    Pillar,
)
from archive.queries import data_version

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# Weights of the fields (renormalised over the fields printed on both sides).
WEIGHTS = {
    "title": 0.30,
    "description": 0.35,
    "achievement": 0.05,
    "departments": 0.25,
    "pillar": 0.05,
}
THRESHOLD = 0.47
SAME_TITLE = 0.9
SAME_NUMBER = 0.05
_FIELDS = tuple(WEIGHTS)


def title_key(title: str) -> str:
    return _features(title)[0]


@lru_cache(maxsize=65_536)
def _features(title: str) -> tuple[str, frozenset[str]]:
    """The normalised title and its character bigrams, worked out once per title."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title)).casefold()
    bigrams = {key[i : i + 2] for i in range(len(key) - 1)} or ({key} if key else set())
    return key, frozenset(bigrams)


def similarity(left: str, right: str) -> float:
    """Dice coefficient of the two titles' character bigrams (normalised)."""
    (left_key, a), (right_key, b) = _features(left), _features(right)
    if not a or not b:
        return 1.0 if left_key == right_key else 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _text_bigrams(text: str) -> frozenset[str]:
    """A text's bigrams as compared: normalised like a title, every digit made 0 (a figure
    changes every year; that a figure is there does not). Not kept like a title's: a text
    is read once per data version, and thousands of them kept would be large."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    key = re.sub(r"[0-9]", "0", key)
    return frozenset(key[i : i + 2] for i in range(len(key) - 1)) or frozenset({key} - {""})


class Content(NamedTuple):
    """What a measure is compared on."""

    number: str
    title: str
    description: str = ""
    achievement: str = ""
    departments: frozenset[str] = frozenset()  # names after renames
    pillar: str = ""


class _Candidate(NamedTuple):
    id: int
    content: Content


Matrix = NDArray[np.float64]


def score_matrix(left: Sequence[Content], right: Sequence[Content]) -> Matrix:
    """Each ``left`` measure's score against each ``right`` one (rows: left), 0 to about 1."""
    encoded = _encode([list(left), list(right)])
    return _scores(encoded[0], encoded[1])


@dataclass(frozen=True, slots=True)
class _Encoded:
    """Measures as the score reads them: for each field the indicator rows of its tokens
    (one vocabulary for all the measures encoded together) and each set's size; the titles'
    keys and the numbers."""

    fields: dict[str, tuple[csr_matrix, Matrix]]
    titles: list[str]
    numbers: list[str]

    def rows(self, keep: list[int]) -> _Encoded:
        return _Encoded(
            {name: (rows[keep], sizes[keep]) for name, (rows, sizes) in self.fields.items()},
            [self.titles[i] for i in keep],
            [self.numbers[i] for i in keep],
        )


def _encode(groups: list[list[Content]]) -> list[_Encoded]:
    """Each group of measures encoded, with one vocabulary per field for all the groups."""
    # Imported here, as linear_sum_assignment is in _assign: most processes that load this
    # module never match, and scipy's sparse and optimize packages cost a start 0.6 s.
    from scipy.sparse import csr_matrix

    fields: list[dict[str, tuple[csr_matrix, Matrix]]] = [{} for _ in groups]
    for name in _FIELDS:
        vocabulary: dict[str, int] = {}
        found = [
            [[vocabulary.setdefault(t, len(vocabulary)) for t in _tokens(name, c)] for c in group]
            for group in groups
        ]
        width = max(len(vocabulary), 1)
        for into, group in zip(fields, found, strict=True):
            rows = [i for i, tokens in enumerate(group) for _ in tokens]
            columns = [t for tokens in group for t in tokens]
            indicator = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(group), width))
            into[name] = (indicator, np.array([len(t) for t in group], dtype=np.float64))
    return [
        _Encoded(
            found,
            [
                title_key(c.title) or f"none {id(c)}" for c in group
            ],  # an empty title is like no other
            [c.number for c in group],
        )
        for found, group in zip(fields, groups, strict=True)
    ]


def _scores(left: _Encoded, right: _Encoded) -> Matrix:
    total = np.zeros((len(left.numbers), len(right.numbers)))
    weight = np.zeros_like(total)
    for name in _FIELDS:
        (rows_left, sizes_left), (rows_right, sizes_right) = left.fields[name], right.fields[name]
        shared = (rows_left @ rows_right.T).toarray()
        sizes = sizes_left[:, None] + sizes_right[None, :]
        printed = ((sizes_left[:, None] > 0) & (sizes_right[None, :] > 0)).astype(np.float64)
        alike = np.divide(2 * shared, sizes, out=np.zeros_like(printed), where=printed > 0)
        total += WEIGHTS[name] * alike
        weight += WEIGHTS[name] * printed
    score = np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)
    same_title = _equal(left.titles, right.titles)
    score[same_title] = np.maximum(score[same_title], SAME_TITLE)
    score += SAME_NUMBER * _equal(left.numbers, right.numbers)
    return score


def _equal(left: list[str], right: list[str]) -> NDArray[np.bool_]:
    """Whether each left string equals each right one (rows: left)."""
    found: NDArray[np.bool_] = np.zeros((len(left), len(right)), dtype=np.bool_)
    columns: dict[str, list[int]] = defaultdict(list)
    for j, value in enumerate(right):
        columns[value].append(j)
    for i, value in enumerate(left):
        found[i, columns.get(value, [])] = True
    return found


def _tokens(name: str, content: Content) -> frozenset[str]:
    if name == "departments":
        return content.departments
    if name == "title":
        return _features(content.title)[1]
    if name == "pillar":
        return _features(content.pillar)[1]
    return _text_bigrams(content.description if name == "description" else content.achievement)


def assign(left: Sequence[Content], right: Sequence[Content]) -> list[tuple[int, int]]:
    """The pairs (left index, right index) of one assignment between two years: each measure
    in at most one pair, the total score greatest, no pair below ``THRESHOLD``."""
    encoded = _encode([list(left), list(right)])
    return _assign(encoded[0], encoded[1])


def _assign(left: _Encoded, right: _Encoded) -> list[tuple[int, int]]:
    """Scores below the threshold count as 0, so the best assignment of the whole matrix,
    less its pairs at 0, is the best among the pairs that may be made."""
    if not left.numbers or not right.numbers:
        return []
    # Imported here, not with the module: every server worker and most commands load this
    # module through the app, and most of them never match two years (see _encode).
    from scipy.optimize import linear_sum_assignment

    score = _scores(left, right)
    gain = np.where(score >= THRESHOLD, score, 0.0)
    rows, columns = linear_sum_assignment(gain, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, columns, strict=True) if gain[i, j] > 0]


@dataclass(slots=True)
class _City:
    """What matching a municipality's measures needs: its measures of each year as light
    candidates, its curators' links, its measures encoded for the score (every year at
    once, when first needed), and each pair of years' assignment once worked out (a measure
    id to its partner's, both ways round)."""

    years: dict[int, list[_Candidate]]
    explicit: curation.Explicit
    encoded: dict[int, _Encoded] | None = None
    pairs: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)

    def partners(self, city: str, year: int, other: int) -> dict[int, int]:
        """The rule's pairs between ``year`` and ``other``, leaving out every measure that a
        curator has linked or unlinked for that pair of years."""
        key = (min(year, other), max(year, other))
        found = self.pairs.get(key)
        if found is not None:
            return found
        encoded = self.encoded
        if encoded is None:  # two threads may both encode: they write equal values
            groups = [[c.content for c in found] for found in self.years.values()]
            self.encoded = encoded = dict(zip(self.years, _encode(groups), strict=True))
        first, second = key
        left, right = self.years.get(first, []), self.years.get(second, [])
        keep_left = [i for i, c in enumerate(left) if not self._curated(city, first, c, second)]
        keep_right = [i for i, c in enumerate(right) if not self._curated(city, second, c, first)]
        found = {}
        if keep_left and keep_right:
            pairs = _assign(encoded[first].rows(keep_left), encoded[second].rows(keep_right))
            for i, j in pairs:
                one, other_one = left[keep_left[i]].id, right[keep_right[j]].id
                found[one], found[other_one] = other_one, one
        self.pairs[key] = found  # a dict write; two threads write equal values
        return found

    def _curated(self, city: str, year: int, candidate: _Candidate, other: int) -> bool:
        return (city, year, candidate.content.number, other) in self.explicit


@dataclass(slots=True)
class _Known:
    """What one data version of the store is known to hold: municipalities read, and each
    measure's chosen selves (its own id first, then the other years')."""

    cities: dict[str, _City] = field(default_factory=dict)
    chosen: dict[int, tuple[int, ...]] = field(default_factory=dict)
    most_cities: int | None = None  # beyond it, the municipality read first is dropped
    most_measures: int | None = None  # beyond it, every chosen list is dropped

    lock: threading.Lock = field(default_factory=threading.Lock)  # for dropping, not reading

    def keep_city(self, city: str, found: _City) -> None:
        with self.lock:
            self.cities[city] = found
            while self.most_cities is not None and len(self.cities) > self.most_cities:
                self.cities.pop(next(iter(self.cities)), None)

    def keep_chosen(self, measure_id: int, chosen: tuple[int, ...]) -> None:
        with self.lock:
            if self.most_measures is not None and len(self.chosen) >= self.most_measures:
                self.chosen.clear()
            self.chosen[measure_id] = chosen


class Lineages:
    """Histories worked out once per data version of one store, for a process that answers
    many requests (the server's workers: a measure's page asks for its history, and its
    carry-over flags ask again).

    The history of a measure depends on every measure of its municipality, in every year,
    and on the curators' links; all change only in a write transaction, and every write
    transaction advances the data version (``archive.db.writer``). So what is kept is keyed
    on the version the request's own transaction reads: a request that sees a newer version
    works its histories out again, and one that still reads an older snapshot gets that
    snapshot's. The matching and the candidates are kept, never the measures themselves:
    those are read in the request's transaction like any other row.

    Bounded: ``VERSIONS`` versions (the least recently used dropped), ``CITIES``
    municipalities per version (the first read dropped) and ``MEASURES`` chosen lists per
    version (all dropped at once); what is dropped is worked out again when asked for.
    Safe to share between threads: what is kept changes under a lock, a request reads each
    entry once (a dict read, atomic), and two threads working out the same entry at once
    write equal values.
    """

    VERSIONS = 2
    CITIES = 64
    MEASURES = 100_000

    def __init__(self) -> None:
        self._known = LRUCache[int, _Known](maxsize=self.VERSIONS)
        self._lock = threading.Lock()

    def at(self, version: int) -> _Known:
        with self._lock:
            known = self._known.get(version)
            if known is None:
                known = _Known(most_cities=self.CITIES, most_measures=self.MEASURES)
                self._known[version] = known
            return known


def history_by_measure_ids(
    db: Session, ids: Sequence[int], lineages: Lineages | None = None
) -> list[list[tuple[Measure, Document]]]:
    """For each measure id, the measure in every year it is found, ascending; an unknown id
    has an empty history.

    Candidates are read as the columns the score needs (a municipality has hundreds of
    measures over the years, and loading each as a whole row was most of a measure page's
    time); only the measures chosen are loaded whole. With ``lineages``, the candidates,
    their encoding, each pair of years' assignment and each measure's selves are kept for
    the store's data version, and a history asked for again costs two queries: the version
    and the chosen measures."""
    known = _Known() if lineages is None else lineages.at(data_version(db))
    # Read once: another thread may drop what is kept meanwhile (``_Known.keep_chosen``).
    selves = {i: known.chosen.get(i) for i in dict.fromkeys(ids)}
    missing = [i for i, chosen in selves.items() if chosen is None]
    if missing:
        selves.update(_choose(db, missing, known))
    wanted = {i for chosen in selves.values() for i in chosen or ()}
    whole: dict[int, tuple[Measure, Document]] = {}
    if wanted:
        whole.update(
            (m.id, (m, d))
            for m, d in db.execute(
                select(Measure, Document).join(Measure.document).where(Measure.id.in_(wanted))
            )
        )
    return [
        sorted(
            (whole[i] for i in selves[measure_id] or () if i in whole),
            key=lambda pair: pair[1].fiscal_year,
        )
        for measure_id in ids
    ]


def _choose(db: Session, ids: list[int], known: _Known) -> dict[int, tuple[int, ...]]:
    """The chosen selves of ``ids`` (each its own id first), kept in ``known`` too (six
    queries at most)."""
    chosen: dict[int, tuple[int, ...]] = {}
    targets = {
        measure_id: _Target(number, city, year)
        for measure_id, number, city, year in db.execute(
            select(Measure.id, Measure.number, Document.municipality, Document.fiscal_year)
            .join(Measure.document)
            .where(Measure.id.in_(ids))
        )
    }
    # Read once: another thread may drop a municipality from ``known`` meanwhile.
    cities = {t.municipality: known.cities.get(t.municipality) for t in targets.values()}
    unread = {city for city, found in cities.items() if found is None}
    if unread:
        for city, read in _read_cities(db, unread).items():
            cities[city] = read
            known.keep_city(city, read)
    for measure_id in ids:
        target = targets.get(measure_id)
        if target is None:
            chosen[measure_id] = ()
            known.keep_chosen(measure_id, ())
            continue
        place = cities[target.municipality]
        assert place is not None  # read above
        selves = [measure_id]
        for year, candidates in place.years.items():
            if year == target.fiscal_year:
                continue
            partner = _partner(measure_id, target, year, candidates, place)
            if partner is not None:
                selves.append(partner)
        chosen[measure_id] = tuple(selves)
        known.keep_chosen(measure_id, chosen[measure_id])
    return chosen


class _Target(NamedTuple):
    number: str
    municipality: str
    fiscal_year: int


def _read_cities(db: Session, unread: set[str]) -> dict[str, _City]:
    """The measures of these municipalities as the rule compares them: texts as columns,
    never whole rows (four queries)."""
    explicit = curation.explicit_links(db, unread)
    newest = _newest_names(curation.renames(db))
    departments: dict[int, set[str]] = defaultdict(set)
    for measure_id, name in db.execute(
        select(MeasureDepartment.measure_id, Department.name)
        .join(Department, Department.id == MeasureDepartment.department_id)
        .join(Measure, Measure.id == MeasureDepartment.measure_id)
        .join(Document, Document.id == Measure.document_id)
        .where(Document.municipality.in_(unread))
    ):
        departments[measure_id].add(newest(name))
    years: dict[str, dict[int, list[_Candidate]]] = {city: defaultdict(list) for city in unread}
    for row in db.execute(_light(Document.municipality.in_(unread))):
        measure_id, number, title, description, achievement, pillar, city, year = row
        content = Content(
            number,
            title,
            description,
            achievement,
            frozenset(departments.get(measure_id, ())),
            pillar or "",
        )
        years[city][year].append(_Candidate(measure_id, content))
    return {city: _City(dict(years[city]), explicit) for city in unread}


def _newest_names(renames: Iterable[DepartmentRename]) -> Callable[[str], str]:
    """A department name's newest name by the declared renames (its key: NFKC, no spaces)."""
    after = {title_key(r.old_name): title_key(r.new_name) for r in renames}

    def newest(name: str) -> str:
        key, seen = title_key(name), set()
        while key in after and key not in seen:
            seen.add(key)
            key = after[key]
        return key

    return newest


def _light(
    where: ColumnElement[bool],
) -> Select[int, str, str, str, str, str | None, str, int]:
    """Measures as matching reads them: id, number, title, 事業内容, 達成状況, pillar title,
    municipality and fiscal year."""
    return (
        select(
            Measure.id,
            Measure.number,
            Measure.title,
            Measure.description,
            Measure.achievement,
            Pillar.title,
            Document.municipality,
            Document.fiscal_year,
        )
        .join(Measure.document)
        .outerjoin(Pillar, Pillar.id == Measure.pillar_id)
        .where(where)
        .order_by(Measure.id)  # the same order, so the same assignment, on every read
    )


def _partner(
    measure_id: int, measure: _Target, year: int, candidates: list[_Candidate], place: _City
) -> int | None:
    """The measure's self in ``year``: a curator's link first, else the rule's partner."""
    city, own_year = measure.municipality, measure.fiscal_year
    key = (city, own_year, measure.number, year)
    if key in place.explicit:
        linked = place.explicit[key]
        return next((c.id for c in candidates if c.content.number == linked), None)
    return place.partners(city, own_year, year).get(measure_id)
