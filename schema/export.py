"""Exports: a measure list or a search as CSV, JSON Lines or an Excel workbook, built in batches.

The rows are the API's answer in a file: the same filter (``MeasureFilter``), the same order
(the measure list's ``orderBy``, the search's ranking) and the same ids (``Measure.id``).
``prepare_export`` does everything that can refuse the request (the search, the count)
before the first byte is written; ``Export.chunks`` then reads the store ``BATCH`` measures
at a time, so a large export never sits in memory whole. Both run on one database handle:
the caller opens a reader session, whose transaction sees one snapshot of the archive.

CSV is for spreadsheets: UTF-8 with a BOM (Excel reads it as UTF-8 only then), RFC 4180
quoting, and a text cell starting with ``= + - @`` or their full-width forms ``＝ ＋ － ＠``
(after any spaces or ideographic spaces), or with a tab or carriage return, gets a leading
``'`` so a spreadsheet shows it as text instead of running it as a formula. JSON Lines is for
programs: text exactly as stored, departments and indicators as lists; U+2028, U+2029 and
U+0085 are written as JSON escapes (``\\u2028``…), so a reader splitting on every Unicode
line break (Python's ``str.splitlines``) still sees one object a line.

Every row carries the 外 flag (``departments_others``: the department list ended in 外, "and
others"), the municipality's 6-digit code (``municipality_code``, empty when the report's
municipality is not on the official list) and ``url``, the measure's page on the site the
export came from (``#/measure/<id>``; empty from the command line, which knows no site).
These three come after the columns scripts already read (and after ``score``), so a script
reading columns by position keeps working.

CSV headers are the column names (``header="en"``, the default: scripts read them) or their
Japanese (``header="ja"``, what the search page asks for). The workbook (xlsx) is for people:
a Japanese header row, codes (the measure number ``09``, the municipality code, ids) as text
cells so Excel keeps their leading zeros, years and scores as numbers. It is written in
openpyxl's write-only mode: the rows' cells go to a temporary file as they are read, but the
table of distinct texts (the workbook's shared strings) stays in memory until the end, so its
memory grows with the rows and is bounded by the server's row limit (42 MB at peak for
50,000 rows, decision 0014). Each row's link is a cell hyperlink, and openpyxl keeps those
until the end too: about 60 MB more at 50,000 rows (tracemalloc's peak, measured alone).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from archive import indicators, queries
from archive.eras import western_to_era_label
from archive.models import Document
from archive.models import Measure as MeasureRow
from index.search import Hit, Searcher
from schema.choices import FORMATS, SEARCH_ORDERS
from schema.connections import archive_filter, search_results
from schema.errors import BAD_USER_INPUT, PublicError
from schema.ids import global_id
from schema.types import Measure, MeasureFilter, MeasureOrder, SearchOrder

BATCH = 200  # measures per store query and per written chunk
XLSX = "xlsx"
HEADERS = ("en", "ja")  # a CSV's header row: the column names, or their Japanese
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The orders an export may ask for: the search's, and for a measure list the two directions.
LIST_ORDERS = {
    "fiscalYear": MeasureOrder.FISCAL_YEAR_ASC,
    "-fiscalYear": MeasureOrder.FISCAL_YEAR_DESC,
}

CSV_COLUMNS = (
    "id",
    "municipality",
    "fiscal_year",
    "fiscal_year_label",
    "number",
    "title",
    "departments",
    "description",
    "achievement",
    "next_year_tag",
    "next_year_status",
    "next_year_fiscal_year",
)
# After CSV_COLUMNS and the search's score: columns added later go last (#18).
ADDED_COLUMNS = ("departments_others", "municipality_code", "url")
# The header row in Japanese: the names the report and the page use.
JAPANESE_HEADINGS = {
    "id": "ID",
    "municipality": "自治体",
    "fiscal_year": "年度（西暦）",
    "fiscal_year_label": "年度",
    "number": "番号",
    "title": "推進事項",
    "departments": "担当部課所",
    "description": "事業内容",
    "achievement": "達成状況",
    "next_year_tag": "次年度の表記",
    "next_year_status": "次年度の扱い",
    "next_year_fiscal_year": "次年度（西暦）",
    "score": "関連度",
    "departments_others": "外（ほかの担当あり）",
    "municipality_code": "自治体コード",
    "url": "リンク",
}
# Workbook cells that are codes, not quantities: text, so that 09 stays 09.
_TEXT_CODES = frozenset({"id", "number", "municipality_code"})
# Workbook column widths (characters) for the long texts; the others keep Excel's default.
_WIDTHS = {"title": 40, "departments": 20, "description": 60, "achievement": 60, "url": 30}
XLSX_CHUNK = 64 * 1024  # bytes of the finished workbook per chunk sent
_SPILL = 8 * 1024 * 1024  # a workbook larger than this is kept in a temporary file
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_LEADING_SPACES = " \u3000"
# Line breaks to str.splitlines() that json.dumps leaves raw (it escapes the others).
_JSON_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


@dataclass
class Export:
    """An export ready to be written: how many measures match, and what comes out."""

    db: Session
    where: MeasureFilter | None
    order: MeasureOrder | SearchOrder
    limit: int | None  # None: every match
    total: int  # measures that match, before the limit
    hits: list[Hit] | None  # the ranked search hits, or None for a measure list
    site: str | None = None  # the page's address (ends in /), for each row's url

    @property
    def search(self) -> bool:
        return self.hits is not None

    @property
    def count(self) -> int:
        """How many rows the export holds: exactly, for a measure list (one snapshot); at
        most, for a search (a hit whose measure the store no longer holds is left out)."""
        return self.total if self.limit is None else min(self.total, self.limit)

    def rows(self) -> Iterator[list[dict[str, Any]]]:
        """The rows, a batch at a time, in the API's order."""
        if self.hits is not None:
            for start in range(0, len(self.hits), BATCH):
                batch = self.hits[start : start + BATCH]
                stored = queries.measures_by_ids(self.db, [hit.measure_id or 0 for hit in batch])
                pairs = [(row, hit.score) for hit, row in zip(batch, stored, strict=True) if row]
                yield _rows(self.db, pairs, self.site)  # a measure deleted since is left out
            return
        after: queries.MeasureKey | None = None
        left = self.count
        where = archive_filter(self.where)
        while left > 0:
            found = queries.list_measures(
                self.db,
                where,
                after=after,
                limit=min(BATCH, left),
                descending=self.order is MeasureOrder.FISCAL_YEAR_DESC,
            )
            if not found:
                return
            yield _rows(self.db, [(row, None) for row in found], self.site)
            after = queries.measure_key(*found[-1])
            left -= len(found)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of a CSV or workbook row, in order."""
        return CSV_COLUMNS + (("score",) if self.search else ()) + ADDED_COLUMNS

    def chunks(self, format: str, header: str = "en") -> Iterator[str]:
        """The export as text, one chunk per batch: CSV (BOM and header first) or JSON Lines."""
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if header not in HEADERS:
            raise ValueError(f"header must be one of {', '.join(HEADERS)}, not {header!r}")
        if format == "jsonl":
            for batch in self.rows():
                yield "".join(_json_line(row) for row in batch)
            return
        columns = self.columns
        names = [JAPANESE_HEADINGS[c] for c in columns] if header == "ja" else columns
        yield "\ufeff" + _csv_lines([names])
        for batch in self.rows():
            yield _csv_lines([[_csv_cell(row[column]) for column in columns] for row in batch])

    def workbook(self) -> Iterator[bytes]:
        """The export as an Excel workbook (xlsx), in chunks of its bytes: one sheet, the
        header row in Japanese and frozen, a row per measure. The workbook is whole before its
        first byte (a zip's directory comes last); its rows go to openpyxl's temporary file
        as they are read (their distinct texts stay in memory), and the zip to a temporary
        file past ``_SPILL`` bytes."""
        book = Workbook(write_only=True)
        sheet = book.create_sheet("検索結果" if self.search else "推進事項")
        sheet.freeze_panes = "A2"
        columns = self.columns
        for position, column in enumerate(columns, start=1):
            if column in _WIDTHS:
                sheet.column_dimensions[get_column_letter(position)].width = _WIDTHS[column]
        bold = Font(bold=True)
        heading = []
        for column in columns:
            cell = WriteOnlyCell(sheet, JAPANESE_HEADINGS[column])
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        for batch in self.rows():
            for row in batch:
                sheet.append([_xlsx_cell(sheet, column, row[column]) for column in columns])
        with tempfile.SpooledTemporaryFile(max_size=_SPILL) as file:
            book.save(file)
            file.seek(0)
            while chunk := file.read(XLSX_CHUNK):
                yield chunk


def prepare_export(
    db: Session,
    searcher: Searcher,
    *,
    query: str | None,
    where: MeasureFilter | None,
    order: str | None,
    limit: int | None,
    site: str | None = None,
) -> Export:
    """Check the request and run the search (or count the list); a bad query or order, or a
    search that cannot run, is a ``PublicError`` raised before anything is written. ``site``
    is the page's address, ending in ``/``, for each row's ``url``."""
    if limit is not None and limit < 1:
        raise PublicError("limit must be 1 or more", BAD_USER_INPUT)
    if query is None:
        chosen = LIST_ORDERS.get(order or "fiscalYear")
        if chosen is None:
            raise _order_refused(LIST_ORDERS)
        total = queries.count_measures(db, archive_filter(where))
        return Export(db, where, chosen, limit, total, hits=None, site=site)
    ranked = SEARCH_ORDERS.get(order or "relevance")
    if ranked is None:
        raise _order_refused(SEARCH_ORDERS)
    # Hits are small (a key, a score): holding every one of a capped export is cheap, and one
    # search ranks them once (pages by offset would rank the whole result again each time).
    wanted = limit if limit is not None else 1 << 62
    results = search_results(db, searcher, query, where, ranked, offset=0, limit=wanted)
    return Export(db, where, ranked, limit, results.total, hits=results.hits, site=site)


def _order_refused(orders: dict[str, Any]) -> PublicError:
    listed = ", ".join(orders)
    return PublicError(
        "order must be one of " + listed, BAD_USER_INPUT, reason="EXPORT_ORDER", orders=listed
    )


def _rows(
    db: Session,
    found: Sequence[tuple[tuple[MeasureRow, Document], float | None]],
    site: str | None,
) -> list[dict[str, Any]]:
    departments = queries.departments_by_measure_ids(db, [row[0].id for row, _ in found])
    return [
        _row(Measure.from_row(*row), row[1], [d.name for d in names], score, site)
        for (row, score), names in zip(found, departments, strict=True)
    ]


def _row(
    measure: Measure,
    document: Document,
    departments: list[str],
    score: float | None,
    site: str | None,
) -> dict[str, Any]:
    carry_over = measure.carry_over
    node_id = global_id(Measure.__name__, measure.id)
    row: dict[str, Any] = {
        "id": node_id,
        "municipality": measure.municipality,
        "fiscal_year": measure.fiscal_year,
        "fiscal_year_label": western_to_era_label(measure.fiscal_year),
        "number": measure.number,
        "title": measure.title,
        "departments": departments,
        "description": measure.description,
        "achievement": measure.achievement,
        "next_year_tag": carry_over.tag if carry_over else None,
        "next_year_status": carry_over.status if carry_over else None,
        "next_year_fiscal_year": carry_over.fiscal_year if carry_over else None,
        "indicators": [
            {
                "label": figure.label,
                "value": figure.value,
                "unit": figure.unit,
                "approximate": figure.approximate,
                "text": figure.text,
            }
            for figure in indicators.extract(measure.achievement)
        ],
    }
    if score is not None:
        row["score"] = score
    row["departments_others"] = measure.departments_others
    row["municipality_code"] = document.municipality_code
    # The page's own route, its id escaped as the page's links escape it (encodeURIComponent).
    row["url"] = f"{site}#/measure/{quote(node_id, safe='')}" if site else None
    return row


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False).translate(_JSON_BREAKS) + "\n"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):  # the 外 flag, as the report prints it
        return "外" if value else ""
    if isinstance(value, list):
        value = "、".join(value)
    if isinstance(value, str) and value.lstrip(_LEADING_SPACES).startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # RFC 4180: CRLF, fields with , " or newlines quoted
    return out.getvalue()


def _xlsx_cell(sheet: Any, column: str, value: Any) -> Any:
    """A workbook cell: numbers stay numbers, codes and texts are text cells (a text that
    starts with ``=`` is stored as text, never as a formula)."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "外" if value else None
    elif isinstance(value, list):
        value = "、".join(value)
    if not isinstance(value, str):
        return value
    # Characters a workbook cannot hold (C0 controls but tab and line breaks) are left out.
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    if column == "url":  # the measure's page, a link Excel opens on a click
        cell.hyperlink = value
        cell.style = "Hyperlink"
    if column in _TEXT_CODES:
        cell.number_format = "@"
    return cell
