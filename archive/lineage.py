"""The same measure across years: the rule that links a measure to its other years' selves.

Reports renumber and slightly retitle measures from year to year, so the number alone and the
title alone are both unreliable. Within one municipality, a measure of another year is the
same measure when, in order of preference:

1. its title is the same (after NFKC and removing spaces), whatever its number; or
2. it has the same number and a similar title (character-bigram Dice similarity ≥ 0.5); or
3. its title is very similar (≥ 0.8) under another number.

For each other year the best such candidate is taken; a measure without any is alone. The
history is ascending by fiscal year and includes the measure itself. A curator's link or
unlink (``archive/curation``) overrides the rule for the years it names.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from archive import curation
from archive.models import Document, Measure
from archive.queries import data_version

SAME_NUMBER_SIMILARITY = 0.5
OTHER_NUMBER_SIMILARITY = 0.8


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


class Titled(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def title(self) -> str: ...


def match_score(measure: Titled, candidate: Titled) -> float:
    """How surely ``candidate`` is ``measure`` in another year; 0 when it is not."""
    if title_key(measure.title) == title_key(candidate.title):
        return 2.0
    alike = similarity(measure.title, candidate.title)
    if measure.number == candidate.number and alike >= SAME_NUMBER_SIMILARITY:
        return 1.0 + alike
    if alike >= OTHER_NUMBER_SIMILARITY:
        return alike
    return 0.0


class _Candidate(NamedTuple):
    id: int
    number: str
    title: str


class _Target(NamedTuple):
    number: str
    title: str
    municipality: str
    fiscal_year: int


@dataclass(slots=True)
class _City:
    """What matching a municipality's measures needs: its measures of each year as light
    candidates, and its curators' links."""

    years: dict[int, list[_Candidate]]
    explicit: curation.Explicit


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
        self._known: OrderedDict[int, _Known] = OrderedDict()
        self._lock = threading.Lock()

    def at(self, version: int) -> _Known:
        with self._lock:
            known = self._known.get(version)
            if known is None:
                known = _Known(most_cities=self.CITIES, most_measures=self.MEASURES)
                self._known[version] = known
                while len(self._known) > self.VERSIONS:
                    self._known.popitem(last=False)
            else:
                self._known.move_to_end(version)
            return known


def history_by_measure_ids(
    db: Session, ids: Sequence[int], lineages: Lineages | None = None
) -> list[list[tuple[Measure, Document]]]:
    """For each measure id, the measure in every year it is found, ascending; an unknown id
    has an empty history.

    Candidates are matched on their numbers and titles only (a municipality has hundreds of
    measures over the years, and loading each whole, its texts included, was most of a
    measure page's time); only the measures chosen are loaded whole. With ``lineages``, the
    matching is kept for the store's data version, and a history asked for again costs two
    queries: the version and the chosen measures."""
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
    """The chosen selves of ``ids`` (each its own id first), kept in ``known`` too (three
    queries at most)."""
    chosen: dict[int, tuple[int, ...]] = {}
    targets = {
        measure_id: _Target(number, title, city, year)
        for measure_id, number, title, city, year in db.execute(_light(Measure.id.in_(ids)))
    }
    # Read once: another thread may drop a municipality from ``known`` meanwhile.
    cities = {t.municipality: known.cities.get(t.municipality) for t in targets.values()}
    unread = {city for city, found in cities.items() if found is None}
    if unread:
        explicit = curation.explicit_links(db, unread)
        years: dict[str, dict[int, list[_Candidate]]] = {city: defaultdict(list) for city in unread}
        for measure_id, number, title, city, year in db.execute(
            _light(Document.municipality.in_(unread))
        ):
            years[city][year].append(_Candidate(measure_id, number, title))
        for city in unread:
            cities[city] = read = _City(dict(years[city]), explicit)
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
            partner = _partner(target, year, candidates, place.explicit)
            if partner is not None:
                selves.append(partner.id)
        chosen[measure_id] = tuple(selves)
        known.keep_chosen(measure_id, chosen[measure_id])
    return chosen


def _light(where: ColumnElement[bool]) -> Select[int, str, str, str, int]:
    """Measures as matching reads them: id, number, title, municipality and fiscal year."""
    return (
        select(
            Measure.id, Measure.number, Measure.title, Document.municipality, Document.fiscal_year
        )
        .join(Measure.document)
        .where(where)
        .order_by(Measure.id)  # ties go to the first candidate: the same one on every read
    )


def _partner(
    measure: _Target, year: int, candidates: list[_Candidate], explicit: curation.Explicit
) -> _Candidate | None:
    """The measure's self in ``year``: a curator's link first, else the rule's best candidate
    that no curator has tied to another measure."""
    city, own_year, number = measure.municipality, measure.fiscal_year, measure.number
    key = (city, own_year, number, year)
    if key in explicit:
        linked = explicit[key]
        return next((c for c in candidates if c.number == linked), None)
    best: _Candidate | None = None
    best_rank = (0.0, False)
    for candidate in candidates:
        if explicit and explicit.get((city, year, candidate.number, own_year), number) != number:
            continue  # a curator tied it to another measure
        rank = (match_score(measure, candidate), candidate.number == number)
        if rank[0] > 0 and (best is None or rank > best_rank):
            best, best_rank = candidate, rank
    return best
