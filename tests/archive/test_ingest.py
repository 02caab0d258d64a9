"""Ingest into a real store (SQLite, and PostgreSQL when configured): one transaction per file."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import undefer

from archive.db import reader, writer
from archive.errors import DocumentRefused
from archive.ingest import (
    IngestResult,
    Outcome,
    delete_document,
    prepare_document,
    store_document,
)
from archive.models import Base, Department, Document, Measure, MeasureDepartment, Pillar
from tests import variants


def _ingest(engine: Engine, data: bytes, name: str = "report.txt", **options: Any) -> IngestResult:
    prepared = prepare_document(data, name, **options)
    with writer(engine)() as db, db.begin():
        return store_document(db, prepared)


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a store before and after."""
    with reader(engine)() as db:
        return {
            table.name: sorted((tuple(map(str, row)) for row in db.execute(select(table))), key=str)
            for table in Base.metadata.sorted_tables
        }


def test_sample_lands_whole(engine: Engine, sample_bytes: bytes) -> None:
    result = _ingest(engine, sample_bytes, "hitachi.txt")
    assert (result.outcome, result.measure_count) == (Outcome.STORED, 12)
    with reader(engine)() as db:
        document = db.scalars(select(Document).options(undefer(Document.raw_text))).one()
        assert (document.municipality, document.fiscal_year) == ("日立市", 2020)
        assert document.raw_text == sample_bytes.decode("utf-8")
        assert document.source_name == "hitachi.txt"
        assert len(document.sha256) == 64
        assert db.scalar(select(func.count()).select_from(Pillar)) == 5
        assert db.scalar(select(func.count()).select_from(Department)) == 8
        links = db.execute(
            select(Measure.number, Department.name)
            .join(MeasureDepartment, MeasureDepartment.measure_id == Measure.id)
            .join(Department, Department.id == MeasureDepartment.department_id)
            .where(Measure.number == "07")
            .order_by(MeasureDepartment.position)
        ).all()
        assert [name for _, name in links] == ["政策企画課", "行政マネジメント課"]
        eleven = db.scalars(select(Measure).where(Measure.number == "11")).one()
        assert (eleven.carry_over_tag, eleven.carry_over_status, eleven.carry_over_year) == (
            None,
            None,
            None,
        )
        one = db.scalars(select(Measure).where(Measure.number == "01")).one()
        assert (one.carry_over_tag, one.carry_over_year) == ("[R3継続]", 2021)
        assert one.provenance["title"] == [6, 6]


def test_same_bytes_again_are_unchanged(engine: Engine, sample_bytes: bytes) -> None:
    _ingest(engine, sample_bytes)
    before = _snapshot(engine)
    assert _ingest(engine, sample_bytes).outcome is Outcome.UNCHANGED
    assert _snapshot(engine) == before


def test_new_version_replaces_the_old_in_place(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    _ingest(engine, sample_bytes)
    result = _ingest(engine, variants.dropped_measure(sample_text, "05"))
    assert (result.outcome, result.measure_count) == (Outcome.REPLACED, 11)
    assert [change.number for change in result.measures.removed] == ["05"]
    with reader(engine)() as db:
        assert db.scalar(select(func.count()).select_from(Document)) == 1
        assert db.scalar(select(func.count()).select_from(Measure)) == 11
        names = set(db.scalars(select(Department.name)))
        assert "高齢福祉課" not in names  # only No 05 had it; no orphan is left behind


def _ids(engine: Engine) -> tuple[dict[str, int], dict[int, int]]:
    with reader(engine)() as db:
        measures = dict(db.execute(select(Measure.number, Measure.id)).all())
        pillars = dict(db.execute(select(Pillar.number, Pillar.id)).all())
    return measures, pillars


def test_a_replacement_keeps_the_ids_of_the_document_and_of_kept_measures(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    """Integrators store ids: a corrected report must not change them (#15 point 4)."""
    first = _ingest(engine, sample_bytes)
    measures, pillars = _ids(engine)
    corrected = variants.missing_tag(variants.dropped_measure(sample_text, "05").decode(), "08")
    data = variants.added_measure(corrected.decode())
    result = _ingest(engine, data)
    assert (result.outcome, result.document_id) == (Outcome.REPLACED, first.document_id)
    after, pillars_after = _ids(engine)
    kept = sorted(set(measures) & set(after))
    assert len(kept) == len(measures) - 1
    assert [after[n] for n in kept] == [measures[n] for n in kept]
    assert pillars_after
    assert {n: pillars[n] for n in pillars_after} == pillars_after
    new = sorted(set(after) - set(measures))
    assert new
    assert not {after[n] for n in new} & set(measures.values())
    assert [(c.id, c.number) for c in result.measures.added] == [(after[n], n) for n in new]
    assert [(c.id, c.number) for c in result.measures.removed] == [(measures["05"], "05")]
    # Updated: whatever changed, and where it was read counts (sourceSpans shows it), so every
    # measure after No 05; those before it are untouched.
    updated = [(c.id, c.number) for c in result.measures.updated]
    assert updated == [(measures[n], n) for n in kept if n > "05"]
    with reader(engine)() as db:
        eight = db.get_one(Measure, measures["08"])
        assert eight.carry_over_tag is None
        document = db.get_one(Document, first.document_id, options=[undefer(Document.raw_text)])
        assert document.raw_text == data.decode()


def test_ids_of_deleted_rows_are_never_handed_out_again(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    """The change feed names deleted documents and measures by id, integrators keep ids: a
    report stored after the newest one was deleted must not take its ids (SQLite gave
    max(id) + 1 before migration 0008)."""
    first = _ingest(engine, sample_bytes)
    measures, _ = _ids(engine)
    with writer(engine)() as db, db.begin():
        delete_document(db, first.document_id)
    again = _ingest(engine, variants.other_city(sample_text, 7))
    after, _ = _ids(engine)
    assert again.document_id > first.document_id
    assert min(after.values()) > max(measures.values())


def test_refused_file_changes_nothing(engine: Engine, sample_bytes: bytes) -> None:
    _ingest(engine, sample_bytes)
    before = _snapshot(engine)
    for data in (b"", b"\x00\x01binary", bytes([0x82, 0xA0, 0xFF, 0xFE, 0x81, 0x7F])):
        with pytest.raises(DocumentRefused):
            _ingest(engine, data)
    assert _snapshot(engine) == before


def test_refusals_decided_in_the_store_change_nothing(engine: Engine, sample_bytes: bytes) -> None:
    """Refused after reading the store: a text without measures over a structured report, and
    the same bytes under another year."""
    _ingest(engine, sample_bytes)
    before = _snapshot(engine)
    summary = " 日立市情報化推進アクションプラン 概要版 \n令和２年度の取組をまとめた。\n".encode()
    with pytest.raises(DocumentRefused, match="has none"):
        _ingest(engine, summary)
    with pytest.raises(DocumentRefused, match="already stored"):
        _ingest(engine, sample_bytes, fiscal_year=2021)
    assert _snapshot(engine) == before


def test_same_bytes_as_another_year_are_refused(engine: Engine, sample_bytes: bytes) -> None:
    _ingest(engine, sample_bytes)
    with pytest.raises(DocumentRefused, match="already stored as 日立市 2020"):
        _ingest(engine, sample_bytes, fiscal_year=2021)


def test_failure_midway_rolls_the_whole_file_back(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    """A real database fault on the last measure of a replacement (updated in place, as it
    keeps its id) leaves the old version."""
    _ingest(engine, sample_bytes)
    before = _snapshot(engine)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER no_twelve BEFORE UPDATE ON measures WHEN NEW.number = '12' "
                    "BEGIN SELECT RAISE(ABORT, 'refusing measure 12'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION no_twelve() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.number = '12' THEN RAISE EXCEPTION 'refusing measure 12'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER no_twelve BEFORE UPDATE ON measures "
                    "FOR EACH ROW EXECUTE FUNCTION no_twelve()"
                )
            )
    with pytest.raises(DBAPIError, match="refusing measure 12"):
        _ingest(engine, variants.dropped_measure(sample_text, "05"))
    assert _snapshot(engine) == before


def test_text_without_measures_is_archived_whole(engine: Engine) -> None:
    data = "日立市 お知らせ \n令和２年度の計画は別に定める。 \n".encode()
    result = _ingest(engine, data)
    assert (result.outcome, result.measure_count) == (Outcome.UNSTRUCTURED, 0)
    with reader(engine)() as db:
        assert (
            db.scalars(select(Document.text)).one()
            == "日立市 お知らせ\n令和２年度の計画は別に定める。"
        )


def test_strict_refuses_text_without_measures() -> None:
    with pytest.raises(DocumentRefused, match="--strict"):
        prepare_document("日立市 お知らせ 令和２年度".encode(), "x.txt", strict=True)


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (
            "No 01 推進事項 題 \n達成状況 実施した。 ".encode(),
            {"municipality": "日立市"},
            "--fiscal-year",
        ),
        ("No 01 推進事項 題 \n達成状況 実施した。 [R3継続] ".encode(), {}, "--municipality"),
        ("No 01 推進事項 題 \n".encode(), {"fiscal_year": 20, "municipality": "日立市"}, "Western"),
        # From the command line: argv bytes that are not UTF-8 decode to lone surrogates.
        (b"No 01", {"fiscal_year": 2020, "municipality": "\udc93\xfa\u7acb"}, "not UTF-8"),
        (b"No 01", {"fiscal_year": 2020, "municipality": "\u65e5\x00"}, "NUL"),
    ],
)
def test_missing_year_or_municipality_asks_for_the_option(
    data: bytes, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(DocumentRefused, match=message):
        prepare_document(data, "x.txt", **options)


def test_a_file_name_is_kept_as_text_a_store_holds(engine: Engine, sample_bytes: bytes) -> None:
    """Only a name to show: made storable, where refusing would cost the clerk the report."""
    result = _ingest(engine, sample_bytes, "\udc93\udcfa\x00.txt")
    with reader(engine)() as db:
        document = db.get(Document, result.document_id)
        assert document is not None
        assert document.source_name == "\ufffd\ufffd.txt"


def test_options_override_what_the_text_says(engine: Engine, sample_bytes: bytes) -> None:
    result = _ingest(engine, sample_bytes, fiscal_year=2019, municipality="水戸市")
    assert (result.municipality, result.fiscal_year) == ("水戸市", 2019)


def test_departments_are_shared_across_years(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    _ingest(engine, sample_bytes)
    _ingest(engine, variants.added_measure(sample_text), fiscal_year=2021)
    with reader(engine)() as db:
        names = list(db.scalars(select(Department.name)))
        assert len(names) == len(set(names)) == 9  # the eight, and 市民課 from No 13


def test_constraints_make_duplicates_impossible(engine: Engine, sample_bytes: bytes) -> None:
    _ingest(engine, sample_bytes)
    with writer(engine)() as db, db.begin():
        db.add(Department(name="秘書課", key="秘書課"))
        with pytest.raises(DBAPIError):
            db.flush()
        db.rollback()
