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
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import curation
from archive.models import Document, Measure

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


def history_by_measure_ids(db: Session, ids: Sequence[int]) -> list[list[tuple[Measure, Document]]]:
    """For each measure id, the measure in every year it is found, ascending (three queries).

    Candidates are matched on their numbers and titles only (a municipality has hundreds of
    measures over the years, and loading each whole, its texts included, was most of a
    measure page's time); only the measures chosen are loaded whole."""
    targets = {
        m.id: (m, d)
        for m, d in db.execute(
            select(Measure, Document).join(Measure.document).where(Measure.id.in_(list(ids)))
        )
    }
    municipalities = {d.municipality for _, d in targets.values()}
    by_city_year: dict[tuple[str, int], list[_Candidate]] = defaultdict(list)
    for measure_id, number, title, city, year in db.execute(
        select(
            Measure.id, Measure.number, Measure.title, Document.municipality, Document.fiscal_year
        )
        .join(Measure.document)
        .where(Document.municipality.in_(municipalities))
    ):
        by_city_year[(city, year)].append(_Candidate(measure_id, number, title))
    explicit = curation.explicit_links(db, municipalities)
    chosen: list[list[int]] = []
    for measure_id in ids:
        if measure_id not in targets:
            chosen.append([])
            continue
        measure, document = targets[measure_id]
        found = [measure_id]
        for (city, year), candidates in by_city_year.items():
            if city != document.municipality or year == document.fiscal_year:
                continue
            partner = _partner(measure, document, year, candidates, explicit)
            if partner is not None:
                found.append(partner.id)
        chosen.append(found)
    partners = {i for found in chosen for i in found[1:]} - set(targets)
    whole = dict(targets)
    if partners:
        whole.update(
            (m.id, (m, d))
            for m, d in db.execute(
                select(Measure, Document).join(Measure.document).where(Measure.id.in_(partners))
            )
        )
    return [
        sorted((whole[i] for i in found), key=lambda pair: pair[1].fiscal_year) for found in chosen
    ]


def _partner(
    measure: Measure,
    document: Document,
    year: int,
    candidates: list[_Candidate],
    explicit: curation.Explicit,
) -> _Candidate | None:
    """The measure's self in ``year``: a curator's link first, else the rule's best candidate
    that no curator has tied to another measure."""
    city, own_year = document.municipality, document.fiscal_year
    key = (city, own_year, measure.number, year)
    if key in explicit:
        number = explicit[key]
        return next((c for c in candidates if c.number == number), None)
    allowed = [
        c
        for c in candidates
        if explicit.get((city, year, c.number, own_year), measure.number) == measure.number
    ]
    scored = [(match_score(measure, c), c.number == measure.number, c) for c in allowed]
    best = max(scored, key=lambda item: (item[0], item[1]), default=None)
    if best is None or best[0] <= 0:
        return None
    return best[2]
