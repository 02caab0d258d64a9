"""Time to ingest a large evaluation workbook (#16 point 4: 2,000 rows x 200 columns in < 10 s).

    .venv/bin/python bench/sheet_bench.py [--rows 2000] [--columns 200] [--repeat 3]
                                          [--write-only]
                                          [--database-url URL]

The workbook is made with openpyxl: two title rows, a header of the usual 事務事業評価 columns
(No, 事務事業名, 所管課, 事業概要, 活動実績, 事業費（千円）, 総合評価, 次年度の方向性, 施策) padded
to ``--columns`` with other columns (numbers and sentences, as real sheets carry), then one
row per measure. Each run prepares it (``prepare_document``: the sheet read) and stores it
(``store_document``) into an empty store, and prints the times of both; the best and the
worst of the runs are printed last (the machine is shared: take the best as the figure,
the worst as what a busy machine gives). A PostgreSQL URL's ``public`` schema is dropped and
recreated. This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import text  # noqa: E402

from archive.db import create_store_engine, upgrade, writer  # noqa: E402
from archive.ingest import prepare_document, store_document  # noqa: E402

KNOWN = ["No", "事務事業名", "所管課", "事業概要", "活動実績", "事業費（千円）", "総合評価"]
KNOWN += ["次年度の方向性", "施策"]


def workbook(rows: int, columns: int, write_only: bool = False) -> bytes:
    # write_only leaves out the sheet's <dimension>, which Excel always writes and without
    # which openpyxl reads the whole sheet once more to size it: the slow case (--write-only).
    book = Workbook(write_only=write_only)
    sheet: Any = book.create_sheet("事務事業評価") if write_only else book.active
    sheet.title = "事務事業評価"
    sheet.append(["令和2年度 事務事業評価シート 日立市"])
    sheet.append(["（単位：千円）"])
    extra = columns - len(KNOWN)
    sheet.append(KNOWN + [f"指標{i}（件）" if i % 2 else f"説明{i}" for i in range(extra)])
    grades, statuses = "ABCD", ("継続", "拡充", "縮小", "廃止")
    for n in range(1, rows + 1):
        sheet.append(
            [
                n,
                f"事務事業その{n}",
                f"課{n % 40}課",
                f"事業{n}の目的と概要を記す文。市民サービスの向上を図る。",
                f"講座を{n % 30}回開催し、参加者は{n * 3}人だった。",
                n * 1000 + 345,
                grades[n % 4],
                statuses[n % 4],
                f"施策{n % 12}",
            ]
            + [n * i if i % 2 else f"第{i}列の記述 {n}" for i in range(extra)]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--write-only", action="store_true", help="a sheet without <dimension>")
    args = parser.parse_args()
    data = workbook(args.rows, args.columns, args.write_only)
    print(f"workbook: {args.rows:,} rows x {args.columns} columns, {len(data):,} bytes")
    totals = []
    for run in range(1, args.repeat + 1):
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/archive.sqlite3"
        engine = create_store_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(
                    text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
                )
        upgrade(engine)
        started = time.perf_counter()
        prepared = prepare_document(data, "book.xlsx")
        read = time.perf_counter() - started
        with writer(engine)() as db, db.begin():
            result = store_document(db, prepared)
        total = time.perf_counter() - started
        totals.append(total)
        print(
            f"run {run}: prepare {read:.2f} s + store {total - read:.2f} s = {total:.2f} s "
            f"({result.describe()}, {engine.dialect.name})"
        )
        engine.dispose()
    print(f"best {min(totals):.2f} s, worst {max(totals):.2f} s")


if __name__ == "__main__":
    main()
