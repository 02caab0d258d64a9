"""The exports of #18 through the real ASGI app: CSV with Japanese headers (``header=ja``), the
Excel workbook (``/export.xlsx``), and the 外 flag, the municipality code and the link in every
format, on three years of Hitachi reports. Each file is checked against another answer of the
API (the GraphQL list, or the English CSV), never against a copy of its own output."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from starlette.testclient import TestClient

from server.settings import Settings
from tests.conftest import SAMPLE, AppClient, archive_of, graphql

BOM = "\ufeff".encode()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KANA_OR_KANJI = tuple(range(0x3040, 0x30FF)) + tuple(range(0x4E00, 0x9FFF))
MEASURES = """query($filter: MeasureFilter) { measures(filter: $filter, first: 100) {
  edges { node { id number fiscalYear departmentsOthers document { municipalityCode } } } } }"""


@pytest.fixture
def portal(three_years_archive: Settings, app_client: AppClient) -> Iterator[TestClient]:
    with app_client(three_years_archive) as client:
        yield client


def _table(content: bytes) -> list[list[str]]:
    assert content.startswith(BOM)  # Excel reads the file as UTF-8 only with it
    return list(csv.reader(io.StringIO(content[len(BOM) :].decode("utf-8"), newline="")))


def _sheet(content: bytes) -> Worksheet:
    book = load_workbook(io.BytesIO(content))
    assert len(book.worksheets) == 1
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"  # the header row stays in view
    return sheet


def _japanese(text: str) -> bool:
    return any(ord(character) in KANA_OR_KANJI for character in text)


def _nodes(client: TestClient, where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    body = graphql(client, MEASURES, filter=where)
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["measures"]["edges"]]


@pytest.mark.parametrize("params", [{}, {"q": "市民"}, {"fiscalYear": ["2019", "2021"]}])
def test_csv_header_ja_names_the_same_columns_in_japanese(
    portal: TestClient, params: dict[str, Any]
) -> None:
    english = _table(portal.get("/export.csv", params=params).content)
    default = _table(portal.get("/export.csv", params={**params, "header": "en"}).content)
    japanese = _table(portal.get("/export.csv", params={**params, "header": "ja"}).content)
    assert default == english  # en is the default: scripts reading the old names keep working
    assert japanese[1:] == english[1:]  # the same rows, in the same columns
    assert len(japanese[0]) == len(english[0]) == len(set(japanese[0]))
    assert all(_japanese(name) for name in japanese[0] if name != "ID")
    # The columns scripts read keep their places; the added ones come last.
    assert english[0][:12] == [
        "id", "municipality", "fiscal_year", "fiscal_year_label", "number", "title",
        "departments", "description", "achievement", "next_year_tag", "next_year_status",
        "next_year_fiscal_year",
    ]  # fmt: skip
    assert english[0][-3:] == ["departments_others", "municipality_code", "url"]


def test_every_format_carries_the_others_flag_code_and_link(portal: TestClient) -> None:
    nodes = {node["id"]: node for node in _nodes(portal)}
    assert any(node["departmentsOthers"] for node in nodes.values())
    assert not all(node["departmentsOthers"] for node in nodes.values())
    rows = list(csv.DictReader(io.StringIO(portal.get("/export.csv").text.lstrip("\ufeff"))))
    lines = [json.loads(line) for line in portal.get("/export.jsonl").text.splitlines()]
    sheet = _sheet(portal.get("/export.xlsx").content)
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert [r["id"] for r in rows] == [r["id"] for r in lines] == [c["ID"] for c in cells]
    assert [r["id"] for r in rows] == list(nodes)
    for row, line, cell in zip(rows, lines, cells, strict=True):
        node = nodes[row["id"]]
        assert line["departments_others"] is node["departmentsOthers"]
        assert row["departments_others"] == ("外" if node["departmentsOthers"] else "")
        assert cell["外（ほかの担当あり）"] == ("外" if node["departmentsOthers"] else None)
        code = node["document"]["municipalityCode"]
        assert code is not None
        assert line["municipality_code"] == row["municipality_code"] == code
        assert cell["自治体コード"] == code
        # The link is the page's own route for the measure, on the site asked.
        link = "http://testserver/#/measure/" + quote(node["id"], safe="")
        assert line["url"] == row["url"] == cell["リンク"] == link


def test_a_link_behind_another_address_names_that_address(portal: TestClient) -> None:
    answer = portal.get("https://archive.example.jp/export.jsonl", params={"limit": "1"})
    assert answer.json()["url"].startswith("https://archive.example.jp/#/measure/")


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({}, None),
        ({"fiscalYear": "2020", "department": "秘書課"}, {"fiscalYears": [2020]}),
    ],
)
def test_the_workbook_holds_the_csv_rows_with_codes_as_text(
    portal: TestClient, params: dict[str, Any], where: dict[str, Any] | None
) -> None:
    response = portal.get("/export.xlsx", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_TYPE
    assert response.headers["content-disposition"] == (
        'attachment; filename="plan-archive-measures.xlsx"'
    )
    sheet = _sheet(response.content)
    table = _table(portal.get("/export.csv", params={**params, "header": "ja"}).content)
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == table[0]  # the Japanese header row
    assert all(cell.font.b for cell in rows[0])
    assert len(rows) - 1 == len(table) - 1 == int(response.headers["x-total-count"])
    columns = table[0]
    for cells, line in zip(rows[1:], table[1:], strict=True):
        by_name = dict(zip(columns, cells, strict=True))
        for name in ("番号", "自治体コード", "ID"):  # codes: text, leading zeros kept
            assert by_name[name].data_type == "s"
            assert by_name[name].number_format == "@"
        assert by_name["年度（西暦）"].data_type == "n"  # a year is a number
        assert isinstance(by_name["年度（西暦）"].value, int)
        # Every cell says what the CSV says (numbers as numbers, empty cells as None).
        assert ["" if c.value is None else str(c.value) for c in cells] == line
    numbers = [row[columns.index("番号")].value for row in rows[1:]]
    if where is None:
        assert "09" in numbers  # Excel would have made this 9


def test_a_search_workbook_keeps_the_ranking_and_scores_as_numbers(portal: TestClient) -> None:
    english = _table(portal.get("/export.csv", params={"q": "市民 OR 情報"}).content)
    response = portal.get("/export.xlsx", params={"q": "市民 OR 情報"})
    assert 'filename="plan-archive-search.xlsx"' in response.headers["content-disposition"]
    sheet = _sheet(response.content)
    rows = list(sheet.iter_rows(values_only=True))
    score = english[0].index("score")
    assert rows[0][score] == "関連度"
    assert [row[0] for row in rows[1:]] == [line[0] for line in english[1:]]
    assert all(isinstance(row[score], float) for row in rows[1:])
    assert [row[score] for row in rows[1:]] == [float(line[score]) for line in english[1:]]


def test_a_workbook_cell_that_starts_a_formula_is_text(
    tmp_path: Path, app_client: AppClient
) -> None:
    report = tmp_path / "formula.txt"
    text = SAMPLE.read_text(encoding="utf-8")
    title = "SNSを活用した市長による情報発信の充実"
    report.write_text(text.replace(title, f"=HYPERLINK(1) {title}", 1), encoding="utf-8")
    with app_client(archive_of(tmp_path / "data", [report])) as client:
        sheet = _sheet(client.get("/export.xlsx", params={"q": "HYPERLINK"}).content)
    header = [cell.value for cell in sheet[1]]
    (row,) = list(sheet.iter_rows(2))
    cell = row[header.index("推進事項")]
    assert cell.value == f"=HYPERLINK(1) {title}"  # as stored, but never run
    assert cell.data_type == "s"


def test_head_of_a_workbook_counts_without_a_body(portal: TestClient) -> None:
    answer = portal.head("/export.xlsx", params={"fiscalYear": "2021"})
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["x-total-count"] == str(len(_nodes(portal, {"fiscalYears": [2021]})))


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/export.csv", "header=fr", "header must be one of en, ja"),
        ("/export.csv", "header=ja&header=en", "give header once"),
        ("/export.jsonl", "header=ja", "header is for CSV and xlsx"),
        ("/export.xlsx", "fiscalYear=20x", "fiscalYear must be a Western year such as 2020"),
        ("/export.xlsx", "q=%22open", 'a quotation mark (") is not closed'),
        ("/export.xlsx", "order=score", "order must be one of fiscalYear, -fiscalYear"),
    ],
)
def test_bad_parameters_of_the_new_formats_are_a_400_with_one_line(
    client: TestClient, path: str, query: str, message: str
) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert message in response.text
    assert "\n" not in response.text.strip()


def test_the_workbook_link_is_a_hyperlink_to_the_measure(portal: TestClient) -> None:
    response = portal.get("/export.xlsx", params={"q": "市民", "fiscalYear": "2020"})
    assert response.status_code == 200, response.text
    rows = list(_sheet(response.content).iter_rows())
    column = [cell.value for cell in rows[0]].index("リンク")
    ids = [cell.value for cell in rows[0]].index("ID")
    assert len(rows) > 1
    for row in rows[1:]:
        link = row[column]
        # A cell Excel opens on a click, to the same page the text names: this row's measure.
        assert link.hyperlink is not None
        assert link.hyperlink.target == link.value
        assert str(link.value).endswith(f"/#/measure/{quote(str(row[ids].value), safe='')}")


@pytest.mark.parametrize(
    ("params", "fallback", "utf8"),
    [
        (
            [("q", "防災"), ("fiscalYear", "2021"), ("fiscalYear", "2019")],
            "plan-archive-search-2019_2021",
            "plan-archive-防災-2019_2021",
        ),
        ([("q", "市民 OR 情報")], "plan-archive-search", "plan-archive-市民_OR_情報"),
        ([("q", "AI"), ("fiscalYearFrom", "2020")], "plan-archive-AI-2020-", None),
        ([("q", 'a/b\\c:"d"*?')], "plan-archive-a_b_c_d", None),
        ([("fiscalYear", "2020")], "plan-archive-measures", None),
    ],
)
@pytest.mark.parametrize("format", ["csv", "jsonl", "xlsx"])
def test_an_export_is_named_after_its_search(
    portal: TestClient,
    params: list[tuple[str, str]],
    fallback: str,
    utf8: str | None,
    format: str,
) -> None:
    """Exports of different searches or years get different names (RFC 6266: an ASCII
    ``filename`` and, for a Japanese query, ``filename*`` in UTF-8), safe as file names."""
    response = portal.head(f"/export.{format}", params=tuple(params))
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    expected = f'attachment; filename="{fallback}.{format}"'
    if utf8 is not None:
        expected += f"; filename*=UTF-8''{quote(f'{utf8}.{format}', safe='')}"
    assert disposition == expected


def test_a_long_query_makes_a_short_file_name(portal: TestClient) -> None:
    response = portal.head("/export.csv", params={"q": "x" * 200})
    assert response.status_code == 200
    name = response.headers["content-disposition"].split('filename="')[1].rstrip('"')
    assert name == f"plan-archive-{'x' * 40}.csv"
