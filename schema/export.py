"""Exports: a measure list or a search as CSV or JSON Lines, built in batches.

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
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from strawberry import relay

from archive import indicators, queries
from archive.eras import western_to_era_label
from archive.models import Document
from archive.models import Measure as MeasureRow
from index.search import Hit, Searcher
from schema.connections import archive_filter, search_results
from schema.errors import BAD_USER_INPUT, PublicError
from schema.types import Measure, MeasureFilter, MeasureOrder, SearchOrder

BATCH = 200  # measures per store query and per written chunk
FORMATS = ("csv", "jsonl")
YEARS = (1000, 9999)  # a fiscal year in a filter: four digits, as the HTTP export and the CLI check
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
# The orders an export may ask for: the search's, and for a measure list the two directions.
SEARCH_ORDERS = {order.value: order for order in SearchOrder}
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
                yield _rows(self.db, pairs)  # a measure deleted since the search is left out
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
            yield _rows(self.db, [(row, None) for row in found])
            after = queries.measure_key(*found[-1])
            left -= len(found)

    def chunks(self, format: str) -> Iterator[str]:
        """The export as text, one chunk per batch: CSV (BOM and header first) or JSON Lines."""
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if format == "jsonl":
            for batch in self.rows():
                yield "".join(_json_line(row) for row in batch)
            return
        columns = CSV_COLUMNS + (("score",) if self.search else ())
        yield "\ufeff" + _csv_lines([columns])
        for batch in self.rows():
            yield _csv_lines([[_csv_cell(row[column]) for column in columns] for row in batch])


def prepare_export(
    db: Session,
    searcher: Searcher,
    *,
    query: str | None,
    where: MeasureFilter | None,
    order: str | None,
    limit: int | None,
) -> Export:
    """Check the request and run the search (or count the list); a bad query or order, or a
    search that cannot run, is a ``PublicError`` raised before anything is written."""
    if limit is not None and limit < 1:
        raise PublicError("limit must be 1 or more", BAD_USER_INPUT)
    if query is None:
        chosen = LIST_ORDERS.get(order or "fiscalYear")
        if chosen is None:
            raise PublicError(_order_message(LIST_ORDERS), BAD_USER_INPUT)
        total = queries.count_measures(db, archive_filter(where))
        return Export(db, where, chosen, limit, total, hits=None)
    ranked = SEARCH_ORDERS.get(order or "relevance")
    if ranked is None:
        raise PublicError(_order_message(SEARCH_ORDERS), BAD_USER_INPUT)
    # Hits are small (a key, a score): holding every one of a capped export is cheap, and one
    # search ranks them once (pages by offset would rank the whole result again each time).
    wanted = limit if limit is not None else 1 << 62
    results = search_results(db, searcher, query, where, ranked, offset=0, limit=wanted)
    return Export(db, where, ranked, limit, results.total, hits=results.hits)


def _order_message(orders: dict[str, Any]) -> str:
    return "order must be one of " + ", ".join(orders)


def _rows(
    db: Session, found: Sequence[tuple[tuple[MeasureRow, Document], float | None]]
) -> list[dict[str, Any]]:
    departments = queries.departments_by_measure_ids(db, [row[0].id for row, _ in found])
    return [
        _row(Measure.from_row(*row), [d.name for d in names], score)
        for (row, score), names in zip(found, departments, strict=True)
    ]


def _row(measure: Measure, departments: list[str], score: float | None) -> dict[str, Any]:
    carry_over = measure.carry_over
    row: dict[str, Any] = {
        "id": relay.to_base64(Measure.__name__, measure.id),
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
    return row


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False).translate(_JSON_BREAKS) + "\n"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "、".join(value)
    if isinstance(value, str) and value.lstrip(_LEADING_SPACES).startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _csv_lines(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # RFC 4180: CRLF, fields with , " or newlines quoted
    return out.getvalue()
