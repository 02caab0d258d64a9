"""Spreadsheets to structure: ``.xlsx`` workbooks and ``.csv`` files, one row per measure.

Many cities publish their evaluation sheets (事務事業評価) as Excel workbooks: a title row or
two (``令和2年度 事務事業評価シート 〇〇市``), maybe helper rows, a header row naming the
columns, then one row per measure with a hundred or more columns. ``read_sheet`` finds the
header row (the row among the first ``HEADER_SEARCH_ROWS`` whose cells name the most known
columns), maps columns to fields through a ``SheetMapping`` (built in for the usual column
names, or read from a mapping file with ``load_mapping``) and returns a ``ParsedReport`` with
``layout="spreadsheet"``.

Workbooks are read with openpyxl in read-only mode with ``data_only=True``: a formula is
never computed, only the value Excel cached when the file was saved is read (none: the cell
is empty). Hidden sheets, hidden columns, columns with no header and helper columns
(作業用, チェック, フラグ, 計算用…) are ignored.

The text of a sheet is one line per sheet row (``header: value / header: value``), so line N
of the stored text is row N of the sheet and a measure's provenance names its row.

Limits (``SheetLimits``): the file's size, the unpacked size of the workbook's parts (a zip
bomb is refused before anything is unpacked; Python's zipfile never unpacks more than a
part declares), the rows and columns read (the sheet's own dimension is ignored, so a
billion-row dimension costs nothing) and a wall-clock budget.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import tomllib
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from archive.decode import DecodeError, decode_document, make_storable
from archive.eras import fiscal_years_in, parse_era_year
from archive.parse import (
    CarryOver,
    Line,
    ParsedMeasure,
    ParsedPillar,
    ParsedReport,
    municipality_from_title,
    split_departments,
)

LAYOUT = "spreadsheet"
HEADER_SEARCH_ROWS = 30
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an encrypted .xlsx, or an old .xls
FIELDS = (
    "number",
    "title",
    "departments",
    "department_parent",
    "description",
    "achievement",
    "grade",
    "status",
    "pillars",
    "fiscal_year",
    "indicators",
)


class SheetError(DecodeError):
    """The file is not a spreadsheet we can read; the message is one line."""


@dataclass(frozen=True)
class SheetLimits:
    max_bytes: int = 50 << 20  # the file as uploaded
    max_unpacked_bytes: int = 256 << 20  # the workbook's parts, as their headers declare
    max_rows: int = 50_000
    max_columns: int = 1_000
    max_cells: int = 10_000_000  # rows x header width
    seconds: float = 60.0  # wall clock for the whole file


# Column names as sheets print them, for each field (compared NFKC-folded, without spaces and
# without a bracketed note such as （千円）). Order within a field: the first found wins for
# the one-column fields; the many-column fields (description, achievement, pillars,
# indicators) take every column that matches, in sheet order.
BUILTIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": (
        "番号",
        "No",
        "No.",
        "NO",
        "事業番号",
        "事務事業番号",
        "事務事業コード",
        "事業コード",
        "整理番号",
        "コード",
    ),
    "title": ("事務事業名", "事業名", "事務事業の名称", "事業の名称", "名称"),
    "departments": (
        "所管課",
        "担当課",
        "担当部署",
        "所管部署",
        "担当部課",
        "所管課名",
        "担当課名",
        "担当部課所",
        "課名",
    ),
    "department_parent": ("所管部", "担当部", "部局", "部局名", "部名", "所管部名"),
    "description": (
        "事業概要",
        "事業の目的",
        "事業内容",
        "事業の概要",
        "事業目的",
        "目的",
        "概要",
        "事業の内容",
    ),
    "achievement": (
        "実績",
        "成果",
        "活動実績",
        "達成状況",
        "取組実績",
        "事業実績",
        "成果実績",
        "取組内容",
        "活動内容",
        "成果・実績",
    ),
    "grade": ("評価", "総合評価", "進捗評価", "評価結果", "達成度", "進捗状況", "一次評価"),
    "status": (
        "次年度の方向性",
        "今後の方向性",
        "方向性",
        "今後の方針",
        "次年度以降の方向性",
        "今後の展開",
    ),
    "pillars": ("基本目標", "政策", "施策", "基本方針", "政策名", "施策名", "基本施策"),
    "fiscal_year": ("年度", "評価年度", "実施年度", "対象年度"),
    "indicators": (
        "事業費",
        "総事業費",
        "決算額",
        "予算額",
        "人件費",
        "事業費計",
        "一般財源",
        "特定財源",
        "決算見込額",
        "当初予算額",
        "トータルコスト",
    ),
}
# A header with one of these words marks a sheet's helper column (a macro's work area).
HELPER_WORDS = (
    "作業用",
    "作業列",
    "チェック",
    "フラグ",
    "計算用",
    "集計用",
    "参照用",
    "非表示",
    "ダミー",
    "補助列",
    "マクロ",
    "dummy",
    "flag",
    "check",
    "work",
    "tmp",
    "temp",
    "helper",
)
# A money column's unit when neither its header nor its cell names one: the sheet's "単位：千円".
_UNIT_NOTE = re.compile(r"単位[:：\s]*(千円|万円|百万円|億円|円|人|件|回|%|％)")
_BRACKET_NOTE = re.compile(r"[（(【\[]([^）)】\]]{0,20})[）)】\]]")
_MONEY = ("費", "額", "予算", "決算", "コスト", "財源")
_STATUS_WORDS = (
    "現状維持",
    "見直し",
    "継続",
    "拡充",
    "拡大",
    "縮小",
    "改善",
    "統合",
    "休止",
    "廃止",
    "完了",
    "終了",
    "新規",
)
# Rows with a title that are not measures: totals, and the filled-in example of a template.
_NOT_A_MEASURE = re.compile(r"^\s*(?:合計|小計|総計|計|[(（]?記入例[)）]?.*)\s*$")
_NUMBER_PREFIX = re.compile(r"^(?:No|NO|no|№)\.?\s*")
_NUMBER_WITH_UNIT = re.compile(
    r"^\s*([+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[+-]?\d+(?:\.\d+)?)\s*(千円|万円|億円|円|人|件|回|%)?\s*$"
)


@dataclass(frozen=True)
class SheetMapping:
    """Which columns hold which field. ``columns`` gives, for each field it names, the header
    texts of its columns; fields it does not name use ``BUILTIN_COLUMNS``. ``sheet`` picks a
    sheet by name, ``header_row`` the header row (1-based) instead of searching for it."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sheet: str | None = None
    header_row: int | None = None

    def names(self, name: str) -> tuple[str, ...]:
        return self.columns.get(name, BUILTIN_COLUMNS.get(name, ()))


BUILTIN = SheetMapping()


def load_mapping(path: Path) -> SheetMapping:
    """A mapping file (TOML, or JSON when it ends in ``.json``)::

        sheet = "評価シート"          # optional: the sheet to read
        header_row = 4               # optional: the header row, 1-based
        [columns]
        number = "事業No"
        title = "事業の名称"
        departments = ["担当課"]
        achievement = ["R2実績", "成果"]
        indicators = ["事業費（千円）"]

    Raises ``ValueError`` with a one-line reason.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the mapping file ({error.strerror or error})") from None
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise ValueError(f"the mapping file is not valid TOML/JSON ({reason})") from None
    return mapping_from(data)


def mapping_from(data: Any) -> SheetMapping:
    if not isinstance(data, dict):
        raise ValueError("the mapping file must hold a table")
    unknown = set(data) - {"sheet", "header_row", "columns"}
    if unknown:
        raise ValueError(f"the mapping file has unknown keys: {', '.join(sorted(unknown))}")
    sheet = data.get("sheet")
    header_row = data.get("header_row")
    if sheet is not None and not isinstance(sheet, str):
        raise ValueError("sheet must be a text")
    if header_row is not None and (
        not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1
    ):
        raise ValueError("header_row must be a row number (1 or more)")
    columns_data = data.get("columns", {})
    if not isinstance(columns_data, dict):
        raise ValueError("columns must be a table of field = header (or list of headers)")
    columns: dict[str, tuple[str, ...]] = {}
    for name, value in columns_data.items():
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r} in columns (known: {', '.join(FIELDS)})")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise ValueError(f"columns.{name} must be a header text or a list of them")
        columns[name] = tuple(values)
    return SheetMapping(columns, sheet, header_row)


# ---------------------------------------------------------------------------------------------
# Cells and headers


def _fold(text: str) -> str:
    """A header as compared: NFKC, no spaces or line breaks."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _bare(header: str) -> str:
    """A folded header without its bracketed notes: ``事業費（千円）`` -> ``事業費``."""
    return _BRACKET_NOTE.sub("", _fold(header))


def cell_text(value: object) -> str:
    """A cell as printed text: integers without ``.0``, dates as ISO, newlines kept."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if not value.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return make_storable(text)


def _is_helper(header: str) -> bool:
    folded = _fold(header).lower()
    return any(word in folded for word in HELPER_WORDS)


def _field_of(header: str, mapping: SheetMapping) -> str | None:
    """The field whose column ``header`` names, if any (the first in ``FIELDS`` order)."""
    return _field_of_cached(header, tuple(sorted(mapping.columns.items())))


@lru_cache(maxsize=16384)  # a header search meets the same texts again and again
def _field_of_cached(header: str, columns: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    folded, bare = _fold(header), _bare(header)
    for name, (folded_names, bare_names) in _folded_names(columns):
        if folded in folded_names or bare in folded_names or bare in bare_names:
            return name
    return None


@lru_cache(maxsize=64)
def _folded_names(
    columns: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[tuple[str, tuple[frozenset[str], frozenset[str]]], ...]:
    """Each field's column names, folded and bare, in ``FIELDS`` order."""
    named = dict(columns)
    result = []
    for name in FIELDS:
        names = named.get(name, BUILTIN_COLUMNS.get(name, ()))
        result.append(
            (name, (frozenset(_fold(n) for n in names), frozenset(_bare(n) for n in names)))
        )
    return tuple(result)


def _header_score(cells: Sequence[str], mapping: SheetMapping) -> int:
    """How many of ``cells`` name a known column; a row without a title column scores 0."""
    score = 0
    title = False
    for cell in cells:
        if not cell or len(cell) > 40:
            continue
        name = _field_of(cell, mapping)
        if name is not None:
            score += 1
            title = title or name == "title"
    return score if title else 0


@dataclass(frozen=True)
class _Column:
    index: int  # 0-based
    header: str
    field: str | None  # None: only in the row's text


def _columns(header: Sequence[str], hidden: set[int], mapping: SheetMapping) -> list[_Column]:
    columns = []
    taken: set[str] = set()
    single = ("number", "title", "departments", "department_parent", "grade", "status")
    for index, text in enumerate(header):
        if not text or index in hidden or _is_helper(text):
            continue
        name = _field_of(text, mapping)
        if name is None and "indicators" not in mapping.columns and _money_header(text):
            name = "indicators"
        if name in single or name == "fiscal_year":
            if name in taken:
                name = None  # a second 評価 column: text only
            else:
                taken.add(name)
        columns.append(_Column(index, text.replace("\n", ""), name))
    return columns


def _money_header(header: str) -> bool:
    bare = _bare(header)
    return len(bare) <= 12 and any(word in bare for word in _MONEY)


def _unit_of(header: str) -> str | None:
    for note in _BRACKET_NOTE.findall(_fold(header)):
        note = str(note).replace("単位", "").strip(":：")
        if note in ("千円", "万円", "百万円", "億円", "円", "人", "件", "回", "%", "時間"):
            return note
    return None


# ---------------------------------------------------------------------------------------------
# Reading rows


@dataclass(frozen=True)
class _Table:
    name: str  # the sheet's name, or the file's
    rows: list[tuple[int, list[str]]]  # (row number, cell texts) of every non-empty row
    hidden_columns: set[int]


class _Clock:
    def __init__(self, limits: SheetLimits) -> None:
        self.deadline = time.monotonic() + limits.seconds
        self.limits = limits

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise SheetError(
                f"reading the spreadsheet took over {self.limits.seconds:g} s; refused"
            )


def is_workbook(data: bytes) -> bool:
    """A zip holding ``xl/workbook.xml``: an Excel workbook (.xlsx, .xlsm)."""
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def is_spreadsheet_name(name: str) -> bool:
    return name.lower().endswith((".xlsx", ".xlsm", ".csv"))


def _workbook_tables(
    data: bytes, limits: SheetLimits, mapping: SheetMapping, clock: _Clock
) -> Iterator[tuple[_Table, Any]]:
    """Each visible worksheet's first rows (and the sheet itself, to read the rest)."""
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise SheetError("reading .xlsx needs openpyxl (pip install openpyxl)") from None
    if data.startswith(OLE_MAGIC):
        raise SheetError(
            "an encrypted workbook or an old .xls file; save it as .xlsx without a password"
        )
    if not data.startswith(ZIP_MAGIC):
        raise SheetError("named .xlsx but is not a workbook (not a zip file)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SheetError(f"the workbook is damaged ({error})") from None
    if "xl/workbook.xml" not in {info.filename for info in names}:
        raise SheetError("a zip file that is not an Excel workbook (no xl/workbook.xml)")
    unpacked = sum(info.file_size for info in names)
    if unpacked > limits.max_unpacked_bytes:
        raise SheetError(
            f"the workbook unpacks to {unpacked:,} bytes, over the limit of "
            f"{limits.max_unpacked_bytes:,}; refused"
        )
    if any(info.flag_bits & 0x1 for info in names):
        raise SheetError("the workbook is encrypted; save it without a password")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as error:  # openpyxl raises anything from KeyError to its own errors
        raise SheetError(f"the workbook cannot be read ({_reason(error)})") from None
    sheets = [ws for ws in book.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if mapping.sheet is not None:
        sheets = [ws for ws in sheets if ws.title == mapping.sheet]
        if not sheets:
            raise SheetError(f"the workbook has no visible sheet named {mapping.sheet!r}")
    for ws in sheets:
        clock.check()
        path = getattr(ws, "_worksheet_path", None)
        hidden = _hidden_columns(archive, path) if path else set()
        search = max(HEADER_SEARCH_ROWS, mapping.header_row or 0)
        rows = list(_sheet_rows(ws, limits, clock, search, limits.max_columns))
        yield _Table(ws.title, rows, hidden), ws


def _reason(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200] or type(error).__name__


def _sheet_rows(
    ws: Any, limits: SheetLimits, clock: _Clock, max_row: int | None, width: int
) -> Iterator[tuple[int, list[str]]]:
    """Rows of ``ws`` (up to ``max_row``; None: all, refused past ``limits.max_rows``) as
    texts, ``width`` columns wide, empty rows left out."""
    ws.reset_dimensions()  # the file's own dimension may claim a billion rows: never trust it
    try:
        # openpyxl yields an empty row for each row the file skips, so the count is the number.
        for number, values in enumerate(
            ws.iter_rows(min_row=1, max_row=max_row, max_col=width, values_only=True), start=1
        ):
            if number > limits.max_rows:
                raise SheetError(f"the sheet has more than {limits.max_rows:,} rows; refused")
            if number % 256 == 0:
                clock.check()
            if not any(v is not None for v in values):
                continue
            cells = [cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield number, cells
    except SheetError:
        raise
    except Exception as error:  # a damaged part, bad XML
        raise SheetError(f"the sheet {ws.title!r} cannot be read ({_reason(error)})") from None


_COL = re.compile(rb"<(?:\w+:)?col\b([^>]*)/?>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')


def _hidden_columns(archive: zipfile.ZipFile, path: str) -> set[int]:
    """0-based indexes of the columns the sheet hides (its ``<cols>``, before the data)."""
    try:
        with archive.open(path.lstrip("/")) as part:
            head = b""
            while b"sheetData" not in head and len(head) < 1 << 20:
                chunk = part.read(64 << 10)
                if not chunk:
                    break
                head += chunk
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return set()
    head = head.split(b"sheetData", 1)[0]
    hidden: set[int] = set()
    for match in _COL.finditer(head):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        if attributes.get(b"hidden") not in (b"1", b"true"):
            continue
        try:
            first, last = int(attributes[b"min"]), int(attributes[b"max"])
        except (KeyError, ValueError):
            continue
        hidden.update(range(first - 1, min(last, first + 16384)))
    return hidden


def _csv_rows(data: bytes, limits: SheetLimits, clock: _Clock) -> tuple[str, list[Any]]:
    try:
        decoded = decode_document(data)
    except DecodeError as error:
        raise SheetError(str(error)) from None
    text = decoded.text
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    rows: list[tuple[int, list[str]]] = []
    csv.field_size_limit(1 << 20)
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            if number > limits.max_rows:
                raise SheetError(f"the file has more than {limits.max_rows:,} rows; refused")
            if number % 256 == 0:
                clock.check()
            cells = [make_storable(v.strip()) for v in values[: limits.max_columns]]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                rows.append((number, cells))
    except csv.Error as error:
        raise SheetError(f"the CSV cannot be read ({_reason(error)})") from None
    return decoded.encoding, rows


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class ReadSheet:
    report: ParsedReport
    raw_text: str  # one line per sheet row: line N is row N
    encoding: str  # "xlsx", or the CSV's encoding ("utf-8", "utf-8-sig", "cp932"…)


def read_sheet(
    data: bytes,
    source_name: str,
    mapping: SheetMapping | None = None,
    limits: SheetLimits | None = None,
) -> ReadSheet:
    """Read a workbook or a CSV; raises ``SheetError`` with a one-line reason."""
    mapping = mapping or BUILTIN
    limits = limits or SheetLimits()
    clock = _Clock(limits)
    if len(data) > limits.max_bytes:
        raise SheetError(f"the file is over {limits.max_bytes:,} bytes; refused")
    if not data.strip():
        raise SheetError("the file is empty")
    csv_named = source_name.lower().endswith(".csv")
    if csv_named and not data.startswith((ZIP_MAGIC, OLE_MAGIC)):
        encoding, rows = _csv_rows(data, limits, clock)
        table = _Table(Path(source_name).stem, rows, set())
        header_at = _find_header(table, mapping)
        if header_at is None:
            raise _no_header(mapping)
        return _build(table, header_at, encoding, mapping, source_name)
    best: tuple[int, _Table, Any, int] | None = None
    for table, ws in _workbook_tables(data, limits, mapping, clock):
        header_at = _find_header(table, mapping)
        if header_at is None:
            continue
        score = _header_score(table.rows[header_at][1], mapping)
        if best is None or score > best[0]:
            best = (score, table, ws, header_at)
    if best is None:
        raise _no_header(mapping)
    _, first_rows, ws, header_at = best
    header_number, header = first_rows.rows[header_at]
    width = len(header)
    sheet_rows: list[tuple[int, list[str]]] = []
    for number, cells in _sheet_rows(ws, limits, clock, None, width):
        sheet_rows.append((number, cells))
        if len(sheet_rows) * width > limits.max_cells:
            raise SheetError(f"the sheet has more than {limits.max_cells:,} cells; refused")
    table = _Table(first_rows.name, sheet_rows, first_rows.hidden_columns)
    header_at = next(i for i, (n, _) in enumerate(sheet_rows) if n == header_number)
    return _build(table, header_at, "xlsx", mapping, source_name)


def _no_header(mapping: SheetMapping) -> SheetError:
    known = "、".join(mapping.names("title")[:2] + mapping.names("departments")[:1])
    return SheetError(
        f"no header row found: none of the first {HEADER_SEARCH_ROWS} rows of a visible sheet "
        f"names a title column and another known column ({known}…); pass --mapping"
    )


def _find_header(table: _Table, mapping: SheetMapping) -> int | None:
    """Index into ``table.rows`` of the header row: the best-scoring of the first rows, at
    least two known columns, one of them the title; ties go to the upper row."""
    best: tuple[int, int] | None = None
    for position, (number, cells) in enumerate(table.rows):
        if number > HEADER_SEARCH_ROWS and mapping.header_row is None:
            break
        if mapping.header_row is not None:
            if number == mapping.header_row:
                return position if _header_score(cells, mapping) else None
            continue
        visible = [c for i, c in enumerate(cells) if i not in table.hidden_columns]
        score = _header_score(visible, mapping)
        if score >= 2 and (best is None or score > best[0]):
            best = (score, position)
    return best[1] if best else None


def _build(
    table: _Table, header_at: int, encoding: str, mapping: SheetMapping, source_name: str
) -> ReadSheet:
    header_number, header = table.rows[header_at]
    columns = _columns(header, table.hidden_columns, mapping)
    above = [" ".join(c for c in cells if c) for _, cells in table.rows[:header_at]]
    title = next((line for line in above if line), table.name)
    default_unit = next(
        (m.group(1) for line in above if (m := _UNIT_NOTE.search(_fold(line)))), None
    )
    by_field: dict[str, list[_Column]] = {}
    for column in columns:
        if column.field:
            by_field.setdefault(column.field, []).append(column)
    lines: list[Line] = []
    raw: dict[int, str] = {}
    for number, cells in table.rows[:header_at]:
        text = " ".join(c.replace("\n", " ") for c in cells if c)
        lines.append(Line(text, number, number))
        raw[number] = text
    header_text = " / ".join(c.header for c in columns)
    lines.append(Line(header_text, header_number, header_number))
    raw[header_number] = header_text
    fiscal_year, evidence = _title_year(above)
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in table.rows[header_at + 1 :]:
        values = {}
        parts = []
        for column in columns:
            value = cells[column.index] if column.index < len(cells) else ""
            if value:
                values[column.header] = value
                parts.append(f"{column.header}: {value.replace(chr(10), ' ')}")
        if not parts:
            continue
        text = " / ".join(parts)
        lines.append(Line(text, number, number))
        raw[number] = text
        rows.append((number, values))
    if fiscal_year is None and "fiscal_year" in by_field:
        header_name = by_field["fiscal_year"][0].header
        years = [y for _, v in rows if (y := _year(v.get(header_name, ""))) is not None]
        if years:
            fiscal_year = Counter(years).most_common(1)[0][0]
            evidence = f"the {header_name} column"
    measures, pillars = _measures(rows, by_field, fiscal_year, default_unit)
    last = max(raw) if raw else 0
    raw_text = "\n".join(raw.get(n, "") for n in range(1, last + 1))
    report = ParsedReport(
        title=title,
        lines=tuple(lines),
        pillars=tuple(pillars),
        measures=tuple(measures),
        fiscal_year=fiscal_year,
        fiscal_year_evidence=evidence,
        # The rows above the header, else the sheet's name, else the file's.
        municipality=_municipality([*above, table.name, Path(source_name).stem]),
        layout=LAYOUT,
    )
    return ReadSheet(report, raw_text, encoding)


def _title_year(lines: Sequence[str]) -> tuple[int | None, str | None]:
    for line in lines:
        years = fiscal_years_in(line)
        if years:
            return years[0], f"the title rows ({line})"
        western = re.search(
            r"(?<!\d)((?:19|20|21)\d\d)\s*年度", unicodedata.normalize("NFKC", line)
        )
        if western:
            return int(western.group(1)), f"the title rows ({line})"
    return None, None


def _year(value: str) -> int | None:
    text = unicodedata.normalize("NFKC", value).strip()
    if re.fullmatch(r"(?:19|20|21)\d\d(?:年度?)?", text):
        return int(text[:4])
    era = parse_era_year(text)
    if era is not None:
        return era
    years = fiscal_years_in(text)
    return years[0] if years else None


def _municipality(lines: Sequence[str]) -> str | None:
    for line in lines:
        found = municipality_from_title(line)
        if found:
            return found
        for token in re.split(r"[\s　/／・]+", unicodedata.normalize("NFKC", line)):
            found = municipality_from_title(token) if token else None
            if found and found == token:
                return found
    return None


def _measures(
    rows: list[tuple[int, dict[str, str]]],
    by_field: dict[str, list[_Column]],
    fiscal_year: int | None,
    default_unit: str | None,
) -> tuple[list[ParsedMeasure], list[ParsedPillar]]:
    def first(name: str, values: dict[str, str]) -> str:
        return next((values[c.header] for c in by_field.get(name, []) if c.header in values), "")

    numbered = "number" in by_field
    raw_numbers = [first("number", v) for _, v in rows] if numbered else []
    digits = [n for n in (unicodedata.normalize("NFKC", n) for n in raw_numbers) if n.isdigit()]
    width = max([2, *(len(str(int(n))) for n in digits)])
    pillars: dict[tuple[str, ...], ParsedPillar] = {}
    measures: list[ParsedMeasure] = []
    position = 0
    for number_row, values in rows:
        title = first("title", values)
        if not title or _NOT_A_MEASURE.match(unicodedata.normalize("NFKC", title)):
            continue
        if "記入例" in first("number", values):
            continue
        position += 1
        raw_number = unicodedata.normalize("NFKC", first("number", values)).strip()
        raw_number = _NUMBER_PREFIX.sub("", raw_number)
        if numbered and raw_number:
            number = str(int(raw_number)).zfill(width) if raw_number.isdigit() else raw_number
        else:
            number = str(position).zfill(width)
        if len(number) > 8:
            raise SheetError(f"row {number_row}: the number {number!r} is over 8 characters")
        department_text = first("departments", values) or first("department_parent", values)
        departments, others = split_departments(department_text)
        description = _joined("description", by_field, values)
        achievement_parts = [_joined("achievement", by_field, values)]
        figures = _figures(by_field.get("indicators", []), values, default_unit)
        achievement_parts.extend(figures)
        achievement = "\n".join(p for p in achievement_parts if p)
        grade = first("grade", values)[:40] or None
        status_text = first("status", values)
        carry_over = None
        if status_text:
            status = next((w for w in _STATUS_WORDS if w in status_text), status_text)[:10]
            next_year = fiscal_year + 1 if fiscal_year is not None else None
            carry_over = CarryOver(status_text.replace("\n", " ")[:40], status, next_year)
        levels = tuple(values[c.header] for c in by_field.get("pillars", []) if c.header in values)
        pillar_number = None
        if levels:
            if levels not in pillars:
                pillars[levels] = ParsedPillar(
                    len(pillars) + 1, " > ".join(levels), number_row, number_row
                )
            pillar_number = pillars[levels].number
        # Every field of a measure comes from its row: the row is its provenance.
        read = {
            "number": raw_number if numbered else "",
            "title": title,
            "departments": department_text,
            "description": description,
            "achievement": achievement,
            "grade": grade or "",
            "carry_over": status_text,
            "pillar": " > ".join(levels),
        }
        provenance = {name: (number_row, number_row) for name, value in read.items() if value}
        measures.append(
            ParsedMeasure(
                number=number,
                title=title.replace("\n", " "),
                departments=departments,
                departments_others=others,
                description=description,
                achievement=achievement,
                carry_over=carry_over,
                pillar_number=pillar_number,
                first=number_row,
                last=number_row,
                provenance=provenance,
                grade=grade,
            )
        )
    return measures, list(pillars.values())


def _joined(name: str, by_field: dict[str, list[_Column]], values: dict[str, str]) -> str:
    """The field's columns: one alone as it is, several each under its header."""
    present = [c for c in by_field.get(name, []) if c.header in values]
    if len(present) == 1:
        return values[present[0].header]
    return "\n".join(f"{c.header}: {values[c.header]}" for c in present)


def _figures(
    columns: Sequence[_Column], values: dict[str, str], default_unit: str | None
) -> list[str]:
    """Numeric columns as labelled figures that ``archive.indicators.extract`` reads back:
    ``事業費（千円）`` holding 12345 -> ``事業費 12,345千円``."""
    figures = []
    for column in columns:
        value = values.get(column.header)
        if not value:
            continue
        match = _NUMBER_WITH_UNIT.match(unicodedata.normalize("NFKC", value))
        label = _bare(column.header) or column.header
        if match is None:
            figures.append(f"{label} {value}")  # text in a numeric column: kept as printed
            continue
        number, unit = match.group(1), match.group(2)
        if unit is None:
            unit = _unit_of(column.header) or (default_unit or "円" if _money(column) else None)
        if unit == "百万円":
            number, unit = _scaled(number, 1000), "千円"
        try:
            amount = float(number.replace(",", ""))
        except ValueError:
            figures.append(f"{label} {value}")
            continue
        shown = f"{amount:,.0f}" if amount.is_integer() else f"{amount:,}"
        figures.append(f"{label} {shown}{unit or ''}")
    return figures


def _money(column: _Column) -> bool:
    return any(word in _bare(column.header) for word in _MONEY)


def _scaled(number: str, factor: int) -> str:
    try:
        return str(float(number.replace(",", "")) * factor)
    except ValueError:
        return number
