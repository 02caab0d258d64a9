"""Spreadsheets (#16 point 4): workbooks and CSVs the tests make, read row by row into measures,
stored and searchable; every unreadable or hostile file refused with one line, nothing stored."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import Engine, func, select

from archive import indicators
from archive.db import writer
from archive.errors import DocumentRefused
from archive.ingest import prepare_document, store_document
from archive.models import Department, Document, Measure, MeasureDepartment
from archive.parse import CarryOver
from archive.sheets import (
    SheetError,
    SheetLimits,
    load_mapping,
    mapping_from,
    read_sheet,
)
from server.cli import cli

TITLE = "令和2年度 事務事業評価シート 日立市"
HEADER = [
    "No",
    "事務事業名",
    "所管部",
    "所管課",
    "事業概要",
    "活動実績",
    "事業費（千円）",
    "人件費",
    "総合評価",
    "次年度の方向性",
    "施策",
]
ROWS: list[list[Any]] = [
    [
        1,
        "電子申請の推進",
        "総務部",
        "情報政策課",
        "申請を電子化する",
        "電子申請 120件",
        12345,
        3200,
        "A",
        "拡充",
        "行政のデジタル化",
    ],
    [
        2,
        "窓口の待ち時間短縮",
        "市民部",
        "市民課、総務課",
        "番号札システムを入れる",
        "平均待ち時間 15分",
        800,
        None,
        "B",
        "継続",
        "行政のデジタル化",
    ],
    [
        3,
        "オープンデータの公開",
        "総務部",
        "情報政策課",
        "データを公開する",
        "公開データ 45件",
        0,
        500,
        "C",
        "廃止",
        "市民参画",
    ],
]


def workbook(
    rows: list[list[Any]] | None = None,
    *,
    above: list[list[Any]] | None = None,
    header: list[Any] | None = None,
    setup: Any = None,
) -> bytes:
    """An .xlsx: the rows ``above`` (title, helper rows), the header, then ``rows``."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "評価シート"
    for row in [[TITLE], ["（単位：千円）"], []] if above is None else above:
        sheet.append(row)
    sheet.append(HEADER if header is None else header)
    for row in ROWS if rows is None else rows:
        sheet.append(row)
    if setup is not None:
        setup(book, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def patched(data: bytes, part: str, old: bytes, new: bytes) -> bytes:
    """``data`` (a zip) with ``old`` replaced by ``new`` in ``part``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == part:
                assert old in body, body[:500]
                body = body.replace(old, new)
            target.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_the_header_is_found_below_the_title_rows_and_each_row_is_a_measure() -> None:
    report = read_sheet(workbook(), "book.xlsx").report
    assert report.layout == "spreadsheet"
    assert (report.title, report.fiscal_year, report.municipality) == (TITLE, 2020, "日立市")
    assert [m.number for m in report.measures] == ["01", "02", "03"]
    first, second, third = report.measures
    assert first.title == "電子申請の推進"
    assert first.departments == ("情報政策課",)
    assert second.departments == ("市民課", "総務課")
    assert first.description == "申請を電子化する"
    assert first.grade == "A"
    assert first.carry_over == CarryOver("拡充", "拡充", 2021)
    assert third.carry_over == CarryOver("廃止", "廃止", 2021)
    # Rows 1-3 are the title, the unit note and a blank row; the header is row 4.
    assert (first.first, first.last) == (5, 5)
    assert first.provenance["title"] == (5, 5)
    assert first.provenance["grade"] == (5, 5)
    assert [(p.number, p.title) for p in report.pillars] == [
        (1, "行政のデジタル化"),
        (2, "市民参画"),
    ]
    assert [m.pillar_number for m in report.measures] == [1, 1, 2]
    # Line N of the text is row N of the sheet, so provenance points into it.
    sheet = read_sheet(workbook(), "book.xlsx")
    lines = sheet.raw_text.split("\n")
    assert lines[0] == TITLE
    assert lines[4].startswith("No: 1 / 事務事業名: 電子申請の推進 / 所管部: 総務部")


def test_numeric_columns_become_indicators_with_their_unit() -> None:
    first, _, third = read_sheet(workbook(), "book.xlsx").report.measures
    assert first.achievement == "電子申請 120件\n事業費 12,345千円\n人件費 3,200千円"
    figures = [(f.label, f.value, f.unit) for f in indicators.extract(first.achievement)]
    assert figures == [
        ("電子申請", 120, "件"),
        ("事業費", 12_345_000, "円"),
        # 人件費 names no unit: the sheet's 単位：千円 note applies.
        ("人件費", 3_200_000, "円"),
    ]
    assert [(f.label, f.value) for f in indicators.extract(third.achievement)] == [
        ("公開データ", 45),
        ("事業費", 0),
        ("人件費", 500_000),
    ]
    # A unit in the cell wins over the header's; no 単位 note and no unit: yen.
    data = workbook(
        [[1, "事業", "総務課", "予算額", "2億円"], [2, "事業二", "総務課", "予算額", 1500]],
        above=[["令和3年度 事務事業評価"]],
        header=["番号", "事業名", "担当課", "事業内容", "予算額"],
    )
    measures = read_sheet(data, "book.xlsx").report.measures
    assert [
        (f.label, f.value, f.unit) for m in measures for f in indicators.extract(m.achievement)
    ] == [
        ("予算額", 200_000_000, "円"),
        ("予算額", 1500, "円"),
    ]


def test_helper_columns_hidden_columns_and_hidden_sheets_are_ignored() -> None:
    def setup(book: Any, sheet: Any) -> None:
        sheet["L4"] = "作業用"
        sheet["L5"] = "秘密の作業メモ"
        sheet["M5"] = "見出しのない列"  # no header
        sheet["N4"] = "備考"
        sheet["N5"] = "隠した列の値"
        sheet.column_dimensions["N"].hidden = True
        sheet["O4"] = "チェックフラグ"
        sheet["O5"] = "TRUE"
        # A hidden sheet with a better header than the visible one is still not read.
        hidden = book.create_sheet("計算用")
        hidden.append(
            ["番号", "事務事業名", "所管課", "事業概要", "活動実績", "総合評価", "施策", "年度"]
        )
        hidden.append([9, "隠しシートの事業", "総務課", "x", "y", "A", "z", "令和2年度"])
        hidden.sheet_state = "hidden"

    sheet = read_sheet(workbook(setup=setup), "book.xlsx")
    assert [m.title for m in sheet.report.measures] == [
        "電子申請の推進",
        "窓口の待ち時間短縮",
        "オープンデータの公開",
    ]
    for word in ("秘密の作業メモ", "見出しのない列", "隠した列の値", "TRUE", "隠しシート"):
        assert word not in sheet.raw_text


def test_the_sheet_with_the_best_header_is_read() -> None:
    def setup(book: Any, sheet: Any) -> None:
        cover = book.create_sheet("表紙", 0)
        cover.append(["事業名", "所管課"])  # a header of sorts, with no rows below it
        cover.append(["（表紙）"])

    report = read_sheet(workbook(setup=setup), "book.xlsx").report
    assert len(report.measures) == 3


def test_formulas_are_never_computed_only_their_cached_value_is_read() -> None:
    rows = [list(ROWS[0]), list(ROWS[1])]
    rows[0][6] = "=1+1"
    rows[1][6] = "=G5*2"
    data = workbook(rows)
    # openpyxl saves formulas without a value; Excel saves the value it computed beside them.
    data = patched(data, "xl/worksheets/sheet1.xml", b"<f>1+1</f><v />", b"<f>1+1</f><v>777</v>")
    first, second = read_sheet(data, "book.xlsx").report.measures
    assert "事業費 777千円" in first.achievement  # the cached value, not 2
    assert "事業費" not in second.achievement  # no cached value: empty, never computed
    assert "G5" not in read_sheet(data, "book.xlsx").raw_text


def test_a_mapping_file_names_the_columns(tmp_path: Path) -> None:
    header = [
        "整理No",
        "取組の名称",
        "担当",
        "取組の中身",
        "R2の成果",
        "費用（万円）",
        "判定",
        "来年度",
    ]
    rows = [
        ["A-01", "公衆無線LANの整備", "情報政策課", "駅に整備", "利用者 3,000人", 120, "○", "継続"]
    ]
    data = workbook(rows, above=[["2021年度 取組評価表"], ["日立市"]], header=header)
    with pytest.raises(SheetError, match="no header row found"):
        read_sheet(data, "book.xlsx")
    path = tmp_path / "mapping.toml"
    path.write_text(
        "[columns]\n"
        'number = "整理No"\n'
        'title = "取組の名称"\n'
        'departments = ["担当"]\n'
        'description = "取組の中身"\n'
        'achievement = ["R2の成果"]\n'
        'indicators = ["費用（万円）"]\n'
        'grade = "判定"\n'
        'status = "来年度"\n',
        encoding="utf-8",
    )
    report = read_sheet(data, "book.xlsx", load_mapping(path)).report
    (measure,) = report.measures
    assert (report.fiscal_year, report.municipality) == (2021, "日立市")
    assert (measure.number, measure.title, measure.departments) == (
        "A-01",
        "公衆無線LANの整備",
        ("情報政策課",),
    )
    assert measure.grade == "○"
    assert measure.carry_over == CarryOver("継続", "継続", 2022)
    assert [(f.label, f.value, f.unit) for f in indicators.extract(measure.achievement)] == [
        ("利用者", 3000, "人"),
        ("費用", 1_200_000, "円"),
    ]
    # The same mapping as JSON, with the header row named instead of searched for.
    json_path = tmp_path / "mapping.json"
    json_path.write_text(
        json.dumps({"header_row": 3, "columns": {"title": "取組の名称", "number": "整理No"}}),
        encoding="utf-8",
    )
    assert (
        read_sheet(data, "book.xlsx", load_mapping(json_path)).report.measures[0].number == "A-01"
    )
    # A header row further down than the search goes, named by the mapping.
    low = workbook(rows, above=[["2021年度 日立市"]] + [["注記"]] * 40, header=header)
    named = mapping_from({"header_row": 42, "columns": {"title": "取組の名称"}})
    assert [m.title for m in read_sheet(low, "book.xlsx", named).report.measures] == [
        "公衆無線LANの整備"
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"columns": {"titel": "x"}}, "unknown field 'titel'"),
        ({"columns": {"title": 3}}, "columns.title must be"),
        ({"header_row": 0}, "header_row must be"),
        ({"colums": {}}, "unknown keys: colums"),
    ],
)
def test_a_wrong_mapping_is_one_line(data: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        mapping_from(data)


def test_csv_in_cp932_and_utf8_with_bom() -> None:
    text = (
        "令和2年度 事務事業評価 日立市,,,\r\n"
        "事業番号,事務事業名,担当課,事業の目的,実績,決算額（千円）,進捗評価,今後の方向性\r\n"
        '7,"防災アプリの配信","防災対策課","災害情報を届ける","登録者 5,400人",2500,S,継続\r\n'
    )
    for encoding, name in (("cp932", "cp932"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")):
        sheet = read_sheet(text.encode(encoding), "book.csv")
        assert sheet.encoding == name
        (measure,) = sheet.report.measures
        assert (measure.number, measure.title, measure.grade) == ("07", "防災アプリの配信", "S")
        assert measure.departments == ("防災対策課",)
        assert measure.achievement == "登録者 5,400人\n決算額 2,500千円"
        assert (measure.first, measure.last) == (3, 3)
        assert sheet.report.fiscal_year == 2020
    tabs = "令和3年度 日立市\n番号\t事業名\t担当課\n1\t事業A\t総務課\n".encode("cp932")
    (measure,) = read_sheet(tabs, "book.csv").report.measures
    assert (measure.number, measure.title, measure.departments) == ("01", "事業A", ("総務課",))


def test_refusals_are_one_line_and_nothing_is_stored(engine: Engine) -> None:
    good = workbook()
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    cases = {
        "no-header.xlsx": (
            workbook(above=[["令和2年度 一覧"]], header=["あ", "い"]),
            "no header row found",
        ),
        "not-a-workbook.xlsx": (other_zip.getvalue(), "not an Excel workbook"),
        "encrypted.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "encrypted workbook"),
        "corrupt.xlsx": (good[: len(good) // 2], "damaged"),
        "text.xlsx": (b"just some text", "not a workbook"),
        "empty.csv": (b"", "empty"),
        "no-header.csv": (b"a,b\n1,2\n", "no header row found"),
        "long-number.xlsx": (
            workbook([[123456789, "事業", "総務課"]]),
            "row 5: the number '123456789' is over 8",
        ),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(DocumentRefused, match=reason) as refused:
            prepare_document(data, name)
        assert "\n" not in str(refused.value), name
    with writer(engine)() as db:
        assert db.scalar(select(func.count()).select_from(Document)) == 0


def test_hostile_workbooks_are_refused_fast() -> None:
    # A sheet that claims a billion-row dimension is read by its rows, not its claim.
    claim = patched(
        workbook(),
        "xl/worksheets/sheet1.xml",
        b'<dimension ref="A1:K7"',
        b'<dimension ref="A1:XFD1048576"',
    )
    started = time.monotonic()
    assert len(read_sheet(claim, "book.xlsx").report.measures) == 3
    # A cell a million rows down: refused at the row limit, not read to the end.
    far = workbook(setup=lambda book, sheet: sheet.cell(row=1_048_576, column=2, value="x"))
    with pytest.raises(SheetError, match="more than 50,000 rows"):
        read_sheet(far, "book.xlsx")
    # A zip bomb: refused from the sizes its parts declare, before any is unpacked.
    bomb = patched(
        workbook(), "xl/worksheets/sheet1.xml", b"</sheetData>", b"</sheetData>" + b" " * (4 << 20)
    )
    assert len(bomb) < 200_000
    with pytest.raises(SheetError, match="unpacks to"):
        read_sheet(bomb, "book.xlsx", limits=SheetLimits(max_unpacked_bytes=1 << 20))
    with pytest.raises(SheetError, match="more than 20 cells"):
        read_sheet(workbook(), "book.xlsx", limits=SheetLimits(max_cells=20))
    with pytest.raises(SheetError, match="took over 0 s"):
        read_sheet(workbook(), "book.xlsx", limits=SheetLimits(seconds=0))
    assert time.monotonic() - started < 10
    assert SheetLimits().max_unpacked_bytes == 256 << 20


def test_stored_with_its_fields_and_searchable(tmp_path: Path, cli_env: dict[str, str]) -> None:
    book = tmp_path / "book.xlsx"
    book.write_bytes(workbook())
    stored = CliRunner().invoke(cli, ["ingest", str(book)], env=cli_env)
    assert stored.exit_code == 0, stored.output
    assert stored.output == f"{book}: stored (日立市 2020, 3 measures, layout spreadsheet)\n"
    searched = CliRunner().invoke(cli, ["search", "窓口"], env=cli_env)
    assert searched.exit_code == 0, searched.output
    assert "窓口の待ち時間短縮" in searched.output
    again = CliRunner().invoke(cli, ["ingest", str(book)], env=cli_env)
    assert again.output == f"{book}: unchanged (日立市 2020, 3 measures, layout spreadsheet)\n"


def test_the_cli_takes_a_mapping_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    book = tmp_path / "book.csv"
    book.write_bytes("2020年度 日立市\nコード,名前,課\n5,防災アプリ,防災対策課\n".encode())
    refused = CliRunner().invoke(cli, ["ingest", str(book)], env=cli_env)
    assert refused.exit_code == 1
    assert "refused: no header row found" in refused.output
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\ntitle = "名前"\ndepartments = "課"\n', encoding="utf-8")
    stored = CliRunner().invoke(cli, ["ingest", "--mapping", str(mapping), str(book)], env=cli_env)
    assert stored.output == f"{book}: stored (日立市 2020, 1 measures, layout spreadsheet)\n", (
        stored.output
    )
    mapping.write_text("[columns\n", encoding="utf-8")
    wrong = CliRunner().invoke(cli, ["ingest", "--mapping", str(mapping), str(book)], env=cli_env)
    assert wrong.exit_code == 2
    assert "not valid TOML/JSON" in wrong.output


def test_a_store_holds_the_measures_of_a_sheet(engine: Engine) -> None:
    with writer(engine)() as db, db.begin():
        result = store_document(db, prepare_document(workbook(), "book.xlsx"))
    assert result.measure_count == 3
    with writer(engine)() as db:
        document = db.scalars(select(Document)).one()
        assert (document.layout, document.encoding) == ("spreadsheet", "xlsx")
        measures = db.scalars(select(Measure).order_by(Measure.number)).all()
        assert [(m.number, m.grade, m.carry_over_status, m.carry_over_year) for m in measures] == [
            ("01", "A", "拡充", 2021),
            ("02", "B", "継続", 2021),
            ("03", "C", "廃止", 2021),
        ]
        assert measures[1].provenance["departments"] == [6, 6]
        names = db.scalars(
            select(Department.name)
            .join(MeasureDepartment, MeasureDepartment.department_id == Department.id)
            .where(MeasureDepartment.measure_id == measures[1].id)
            .order_by(MeasureDepartment.position)
        ).all()
        assert names == ["市民課", "総務課"]


def test_totals_and_example_rows_are_not_measures_and_the_file_name_gives_the_city() -> None:
    text = (
        "令和2年度 事務事業評価\n"
        "番号,事業名,担当課,事業費\n"
        "（記入例）,○○事業,○○課,100\n"
        "No.3,防災アプリの配信,防災対策課,2500\n"
        "No.12,消防団の支援,消防総務課,800\n"
        ",合計,,3300\n"
    )
    report = read_sheet(text.encode(), "日立市_事務事業評価.csv").report
    assert [(m.number, m.title) for m in report.measures] == [
        ("03", "防災アプリの配信"),
        ("12", "消防団の支援"),
    ]
    assert report.municipality == "日立市"
    assert report.measures[0].achievement == "事業費 2,500円"


def test_a_city_named_only_by_the_file_name_is_stored_with_its_code(engine: Engine) -> None:
    """The sheet reader's own finding (here the file name) counts when the rows name no
    government, and goes through the official list like any other name."""
    text = "令和2年度 事務事業評価\n番号,事業名,担当課\n1,防災アプリの配信,防災対策課\n"
    prepared = prepare_document(text.encode(), "かすみがうら市_事務事業評価.csv")
    assert (prepared.municipality, prepared.municipality_code, prepared.prefecture) == (
        "かすみがうら市",
        "082309",
        "茨城県",
    )
    with writer(engine)() as db, db.begin():
        assert store_document(db, prepared).measure_count == 1
    with pytest.raises(DocumentRefused, match="municipality"):  # not in the list: refused
        prepare_document(text.encode(), "常陸市_事務事業評価.csv")
