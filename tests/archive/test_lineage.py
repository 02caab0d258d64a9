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
from tests.archive.lineage_cases import CASES, MITO, Answer, Case, report_text

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


# The hard cases (tests/archive/lineage_cases.py): every measure of each case city's two
# years asked for its self in the other year.


@dataclass
class Judged:
    """Decisions against judgements that may accept more than one answer."""

    links_made: int = 0
    links_right: int = 0
    gold_links: int = 0  # decisions whose judgement accepts no "none"
    gold_links_found: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.links_right / self.links_made if self.links_made else 1.0

    @property
    def recall(self) -> float:
        return self.gold_links_found / self.gold_links if self.gold_links else 1.0

    def add(self, other: Judged) -> Judged:
        return Judged(
            self.links_made + other.links_made,
            self.links_right + other.links_right,
            self.gold_links + other.gold_links,
            self.gold_links_found + other.gold_links_found,
            self.wrong + other.wrong,
        )


def _accepted(answer: Answer) -> tuple[str | None, ...]:
    return answer if isinstance(answer, tuple) else (answer,)


def judge_case(engine: Engine, case: Case) -> Judged:
    """Ingest ``case``'s reports (and its renames) into ``engine`` and judge every history."""
    for year in case.years:
        data = report_text(case, year).encode()
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(data, f"{case.city}-{year}.txt"))
    if case.renames:
        with writer(engine)() as db, db.begin():
            curation.replace(db, curation.parse(case.renames))
    found = Judged()
    with reader(engine)() as db:
        rows = db.execute(
            select(Measure.id, Measure.number, Document.fiscal_year)
            .join(Measure.document)
            .where(Document.municipality == case.city)
        ).all()
        histories = history_by_measure_ids(db, [row.id for row in rows])
        for row, history in zip(rows, histories, strict=True):
            linked = _numbers_by_year(history)
            for other in set(case.years) - {row.fiscal_year}:
                accepted = _accepted(case.judged[(row.fiscal_year, row.number)])
                made = linked.get(other)
                found.links_made += made is not None
                found.links_right += made is not None and made in accepted
                if None not in accepted:
                    found.gold_links += 1
                    found.gold_links_found += made in accepted
                if made not in accepted:
                    found.wrong.append(
                        f"{case.city} {row.fiscal_year} No {row.number} in {other}: "
                        f"{made} ∉ {accepted}"
                    )
    return found


def judged_groups(engine: Engine) -> dict[str, Judged]:
    """Precision and recall of links: on what the rule was tuned on (the Hitachi fixtures and
    水戸市), on the cases set aside (土浦市, 古河市, 笠間市), and on all."""
    hitachi = decisions(engine)
    groups = {
        "tuned": Judged(
            hitachi.links_made,
            hitachi.links_right,
            hitachi.gold_links,
            hitachi.links_right,
            list(hitachi.wrong),
        ),
        "held-out": Judged(),
    }
    for case in CASES:
        name = "held-out" if case.held_out else "tuned"
        groups[name] = groups[name].add(judge_case(engine, case))
    groups["all"] = groups["tuned"].add(groups["held-out"])
    return groups


# Floors set from what was measured when the rule was fixed (README, "Across the years"): on
# what it was tuned on every decision is right; on the cases set aside it links 庁内ネットワークの
# 更新 to 無線化 (judged another measure, both ways round: precision 24/26), the one miss.
FLOORS = {"tuned": (1.0, 1.0), "held-out": (0.9, 0.9), "all": (0.95, 0.9)}


def test_hard_cases_are_linked_by_content(engine: Engine) -> None:
    """Renumbered and retitled, split, merged, and like titles that are other measures."""
    groups = judged_groups(engine)
    assert groups["tuned"].gold_links > 70
    assert groups["held-out"].gold_links >= 20
    for name, (precision, recall) in FLOORS.items():
        assert groups[name].precision >= precision, (name, groups[name].wrong)
        assert groups[name].recall >= recall, (name, groups[name].wrong)


def test_a_renumbered_and_retitled_measure_keeps_its_history(engine: Engine) -> None:
    """The issue's own example: 電子申請の導入 No 06 becomes 電子申請の拡充 No 09 (with its
    department renamed); the dropped 避難所Wi-Fi and the new 公民館Wi-Fi stay apart."""
    judge_case(engine, MITO)
    with reader(engine)() as db:
        ids = {
            (year, number): measure_id
            for measure_id, number, year in db.execute(
                select(Measure.id, Measure.number, Document.fiscal_year).join(Measure.document)
            )
        }
        found = history_by_measure_ids(db, [ids[(2021, "09")], ids[(2020, "05")]])
    assert [(d.fiscal_year, m.title) for m, d in found[0]] == [
        (2020, "電子申請の導入"),
        (2021, "電子申請の拡充"),
    ]
    assert [(d.fiscal_year, m.number) for m, d in found[1]] == [(2020, "05")]


def test_a_curated_link_wins_over_the_assignment(engine: Engine) -> None:
    """A curator's link takes both measures out of the assignment, and the rule pairs the
    rest without them: 2020 No 06 linked to the new 2021 No 06 leaves 2021 No 09 alone."""
    judge_case(engine, MITO)
    with writer(engine)() as db, db.begin():
        curation.replace(db, curation.parse(MITO.renames + "\nlink,水戸市,2020,06,2021,06"))
    with reader(engine)() as db:
        ids = {
            (year, number): measure_id
            for measure_id, number, year in db.execute(
                select(Measure.id, Measure.number, Document.fiscal_year).join(Measure.document)
            )
        }
        found = history_by_measure_ids(
            db, [ids[(2020, "06")], ids[(2021, "09")], ids[(2020, "08")]]
        )
    assert [_numbers_by_year(h) for h in found] == [
        {2020: "06", 2021: "06"},
        {2021: "09"},
        {2020: "08", 2021: "07"},
    ]


def test_each_measure_has_at_most_one_partner_per_year(engine: Engine) -> None:
    """The assignment is one to one: no two measures of a year share a self in another."""
    decisions(engine)
    for case in CASES:
        judge_case(engine, case)
    with reader(engine)() as db:
        rows = db.execute(
            select(Measure.id, Document.municipality, Document.fiscal_year).join(Measure.document)
        ).all()
        histories = history_by_measure_ids(db, [row.id for row in rows])
    taken: dict[tuple[str, int, int, int], int] = {}
    for row, history in zip(rows, histories, strict=True):
        assert [d.fiscal_year for _, d in history] == sorted({d.fiscal_year for _, d in history})
        assert row.id in {m.id for m, _ in history}
        for measure, document in history:
            if measure.id != row.id:
                key = (row.municipality, row.fiscal_year, document.fiscal_year, measure.id)
                assert taken.setdefault(key, row.id) == row.id, key
    assert len(taken) == 74 + 26  # every link made, as counted in the judged figures
