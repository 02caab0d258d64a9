"""Across years: what changed in a measure between two years, and carry-over checks.

``compare`` takes a measure as reported in two years (found through its history) and says
what changed: title, departments, next-year status, figures with their deltas, and a
character diff of 事業内容 and 達成状況 (characters, as Japanese has no spaces to split on).

``carry_over_flags`` checks each report's promises against the next report:
- ``ANNOUNCED_BUT_MISSING``: tagged 継続 for a year whose report is archived, but the
  measure is not in it;
- ``CONTINUED_UNANNOUNCED``: in the previous year's report, without a 継続 tag for this year;
- ``NEW_UNANNOUNCED``: not in the previous year's report, which is archived.
A year whose report is not archived proves nothing, so it raises no flag.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import curation, indicators, lineage
from archive.models import Document, Measure
from archive.queries import departments_by_measure_ids

CONTINUES = "継続"
ANNOUNCED_BUT_MISSING = "ANNOUNCED_BUT_MISSING"
CONTINUED_UNANNOUNCED = "CONTINUED_UNANNOUNCED"
NEW_UNANNOUNCED = "NEW_UNANNOUNCED"


@dataclass(frozen=True)
class TextChange:
    op: str  # "equal", "delete" or "insert"
    text: str


@dataclass(frozen=True)
class FigureChange:
    label: str | None
    unit: str
    before: indicators.Indicator | None
    after: indicators.Indicator | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after.value - self.before.value


@dataclass(frozen=True)
class Comparison:
    before: tuple[Measure, Document]
    after: tuple[Measure, Document]
    departments_before: list[str]
    departments_after: list[str]
    figures: list[FigureChange]
    description: list[TextChange]
    achievement: list[TextChange]

    @property
    def title_changed(self) -> bool:
        return self.before[0].title != self.after[0].title

    renamed: list[tuple[str, str]]  # (old, new) by a curator's declared rename

    @property
    def departments_added(self) -> list[str]:
        new = {n for _, n in self.renamed}
        return [
            d for d in self.departments_after if d not in self.departments_before and d not in new
        ]

    @property
    def departments_removed(self) -> list[str]:
        old = {o for o, _ in self.renamed}
        return [
            d for d in self.departments_before if d not in self.departments_after and d not in old
        ]


def compare(db: Session, measure_id: int, fiscal_year: int) -> Comparison | None:
    """The measure ``measure_id`` against its self in ``fiscal_year``, earlier year first;
    None when its history has no measure in that year."""
    history = lineage.history_by_measure_ids(db, [measure_id])[0]
    this = next(((m, d) for m, d in history if m.id == measure_id), None)
    other = next(((m, d) for m, d in history if d.fiscal_year == fiscal_year), None)
    if this is None or other is None:
        return None
    before, after = sorted([this, other], key=lambda pair: pair[1].fiscal_year)
    departments = departments_by_measure_ids(db, [before[0].id, after[0].id])
    names_before = [d.name for d in departments[0]]
    names_after = [d.name for d in departments[1]]
    return Comparison(
        before=before,
        after=after,
        departments_before=names_before,
        departments_after=names_after,
        renamed=curation.renamed_pairs(
            [n for n in names_before if n not in names_after],
            [n for n in names_after if n not in names_before],
            curation.renames(db),
        ),
        figures=figure_changes(
            indicators.extract(before[0].achievement), indicators.extract(after[0].achievement)
        ),
        description=text_diff(before[0].description, after[0].description),
        achievement=text_diff(before[0].achievement, after[0].achievement),
    )


def figure_changes(
    before: Sequence[indicators.Indicator], after: Sequence[indicators.Indicator]
) -> list[FigureChange]:
    """Figures paired by label and unit, then unlabelled ones by unit in printed order."""
    left = list(before)
    changes = []
    for figure in after:
        partner = next((b for b in left if b.unit == figure.unit and b.label == figure.label), None)
        if partner is not None:
            left.remove(partner)
        changes.append(FigureChange(figure.label, figure.unit, partner, figure))
    changes += [FigureChange(b.label, b.unit, b, None) for b in left]
    return changes


def text_diff(before: str, after: str) -> list[TextChange]:
    """A character diff as runs of equal, deleted and inserted text."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changes = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("equal", "delete", "replace") and i2 > i1:
            changes.append(TextChange("equal" if op == "equal" else "delete", before[i1:i2]))
        if op in ("insert", "replace") and j2 > j1:
            changes.append(TextChange("insert", after[j1:j2]))
    return changes


def carry_over_flags(
    db: Session,
    ids: Sequence[int],
    histories: Sequence[list[tuple[Measure, Document]]] | None = None,
) -> list[list[str]]:
    """For each measure id, its carry-over flags (module docstring), in one pass; from
    ``histories`` (aligned with ``ids``) when the caller has them already."""
    if histories is None:
        histories = lineage.history_by_measure_ids(db, ids)
    archived = {
        (city, year)
        for city, year in db.execute(select(Document.municipality, Document.fiscal_year))
    }
    flags: list[list[str]] = []
    for measure_id, history in zip(ids, histories, strict=True):
        this = next(((m, d) for m, d in history if m.id == measure_id), None)
        if this is None:
            flags.append([])
            continue
        measure, document = this
        city, year = document.municipality, document.fiscal_year
        years = {d.fiscal_year: m for m, d in history}
        found = []
        if measure.carry_over_status == CONTINUES:
            target = measure.carry_over_year or year + 1
            if (city, target) in archived and target not in years:
                found.append(ANNOUNCED_BUT_MISSING)
        if (city, year - 1) in archived:
            previous = years.get(year - 1)
            if previous is None:
                found.append(NEW_UNANNOUNCED)
            elif previous.carry_over_status != CONTINUES or (
                previous.carry_over_year not in (None, year)
            ):
                found.append(CONTINUED_UNANNOUNCED)
        flags.append(found)
    return flags
