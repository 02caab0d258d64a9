"""The history rule (``archive.lineage``) measured against hand judgements of the fixtures.

``SAME`` says, for each pair of years, which measure number of the first year is which of the
second; a number missing on either side has no self in the other year. It is written from
``tests/fixtures/README.md``, not from the rule's output. Every measure of every year is
asked for its self in each other year, so each decision counts: a correct link, a wrong
link, a missed link, or a correct "none".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive import curation
from archive.db import reader, writer
from archive.ingest import prepare_document, store_document
from archive.lineage import Lineages, history_by_measure_ids
from archive.models import Document, Measure

ROOT = Path(__file__).resolve().parent.parent.parent
REPORTS = [
    ROOT / "tests/fixtures/hitachi-action-plan-fy2019.txt",
    ROOT / "sample/hitachi-action-plan-fy2020.txt",
    ROOT / "tests/fixtures/hitachi-action-plan-fy2021.txt",
]
_KEEP = [f"{n:02d}" for n in range(1, 9)]
SAME: dict[tuple[int, int], dict[str, str]] = {
    # 09 タブレット and 10 RPA swap; 11 セキュリティ becomes 12; 12 Windows 7 ends; 2020's
    # 11 都市計画情報 is new.
    (2019, 2020): {**{n: n for n in _KEEP}, "09": "10", "10": "09", "11": "12"},
    # 04 高齢者向け行政番組 is dropped; 05–11 move up by one; 12 stays; 2021's 11 is new.
    (2020, 2021): {
        "01": "01",
        "02": "02",
        "03": "03",
        "05": "04",
        "06": "05",
        "07": "06",
        "08": "07",
        "09": "08",
        "10": "09",
        "11": "10",
        "12": "12",
    },
    (2019, 2021): {
        "01": "01",
        "02": "02",
        "03": "03",
        "05": "04",
        "06": "05",
        "07": "06",
        "08": "07",
        "09": "09",
        "10": "08",
        "11": "12",
    },
}


@dataclass
class Decisions:
    links_made: int = 0
    links_right: int = 0
    gold_links: int = 0
    nones_right: int = 0
    nones: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.links_right / self.links_made if self.links_made else 1.0

    @property
    def recall(self) -> float:
        return self.links_right / self.gold_links if self.gold_links else 1.0


def _gold(year: int, number: str, other: int) -> str | None:
    if (year, other) in SAME:
        return SAME[(year, other)].get(number)
    backwards = {b: a for a, b in SAME[(other, year)].items()}
    return backwards.get(number)


def decisions(engine: Engine) -> Decisions:
    """Ingest the three reports into ``engine``'s empty store and judge every history."""
    for path in REPORTS:
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(path.read_bytes(), path.name))
    found = Decisions()
    with writer(engine)() as db:
        rows = list(db.execute(Measure.__table__.select()))
        ids = [row.id for row in rows]
        histories = history_by_measure_ids(db, ids)
        years = {d.id: d.fiscal_year for d in db.query(Document)}
        for row, history in zip(rows, histories, strict=True):
            year = years[row.document_id]
            linked = {d.fiscal_year: m.number for m, d in history}
            for other in set(years.values()) - {year}:
                gold, made = _gold(year, row.number, other), linked.get(other)
                found.gold_links += gold is not None
                found.links_made += made is not None
                found.nones += gold is None
                if made is not None and made == gold:
                    found.links_right += 1
                elif made is None and gold is None:
                    found.nones_right += 1
                else:
                    found.wrong.append(f"{year} No {row.number} in {other}: {made} ≠ {gold}")
    return found


def test_the_rule_decides_every_fixture_pair_right(engine: Engine) -> None:
    found = decisions(engine)
    assert found.gold_links == 64  # 11 + 11 + 10 pairs, each judged from both sides
    assert found.wrong == []
    assert (found.precision, found.recall) == (1.0, 1.0)
    assert found.nones_right == found.nones


def _numbers_by_year(history: list[tuple[Measure, Document]]) -> dict[int, str]:
    return {d.fiscal_year: m.number for m, d in history}


def _measure_id(db: Session, year: int, number: str) -> int:
    return db.scalars(
        select(Measure.id)
        .join(Measure.document)
        .where(Document.fiscal_year == year, Measure.number == number)
    ).one()


def test_kept_histories_are_the_rule_s_own(engine: Engine) -> None:
    for path in REPORTS:
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(path.read_bytes(), path.name))

    class KeepingOne(Lineages):  # drops what it keeps at every turn
        VERSIONS, CITIES, MEASURES = 1, 1, 1

    with reader(engine)() as db:
        ids = list(db.scalars(select(Measure.id)))
        worked_out = history_by_measure_ids(db, ids)
        for kept in (Lineages(), KeepingOne()):
            # Twice: the first fills what is kept, the second reads from it.
            for _ in range(2):
                again = history_by_measure_ids(db, [*ids, 999_999], kept)
                assert [[m.id for m, _ in h] for h in again[:-1]] == [
                    [m.id for m, _ in h] for h in worked_out
                ]
                assert again[-1] == []  # no such measure


def test_kept_histories_follow_every_write(engine: Engine) -> None:
    """One ``Lineages`` kept across writes answers as if nothing were kept: a new year, a
    curator's unlink, and the unlink taken back, each seen by the next read."""
    kept = Lineages()
    for path in REPORTS[:2]:  # 2019 and 2020
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(path.read_bytes(), path.name))

    def history_of_2020_no_05() -> dict[int, str]:
        with reader(engine)() as db:
            measure_id = _measure_id(db, 2020, "05")
            found = history_by_measure_ids(db, [measure_id], kept)[0]
            assert found == history_by_measure_ids(db, [measure_id])[0]  # nothing kept
            return _numbers_by_year(found)

    assert history_of_2020_no_05() == {2019: "05", 2020: "05"}
    with writer(engine)() as db, db.begin():
        path = REPORTS[2]
        store_document(db, prepare_document(path.read_bytes(), path.name))
    assert history_of_2020_no_05() == {2019: "05", 2020: "05", 2021: SAME[(2020, 2021)]["05"]}
    with writer(engine)() as db, db.begin():
        curation.replace(db, curation.parse("unlink,日立市,2020,05,2021"))
    assert history_of_2020_no_05() == {2019: "05", 2020: "05"}
    with writer(engine)() as db, db.begin():
        curation.replace(db, curation.parse(""))
    assert history_of_2020_no_05() == {2019: "05", 2020: "05", 2021: SAME[(2020, 2021)]["05"]}
