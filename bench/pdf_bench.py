"""Which PDF library reads Japanese reports best: pdfminer.six or pypdf, measured.

Each of the three reports we have as text (the sample, FY2019 and FY2021 fixtures) is made
into a PDF in each layout of ``tests/pdfs.py`` (embedded CJK TrueType font), read back by
each library and mode, joined and tidied as the archive does it
(``archive.pdf.join_pages``), and parsed. Printed per library: measures read, measures
identical in every field to the text file's (whitespace aside), character accuracy of those
fields, and milliseconds per page (in process; the archive's child process adds its start).

    .venv/bin/python bench/pdf_bench.py            # needs pdfminer.six, pypdf and fpdf2
"""

from __future__ import annotations

import difflib
import io
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.parse import ParsedMeasure, parse_report  # noqa: E402
from archive.pdf import join_pages  # noqa: E402
from tests import pdfs  # noqa: E402

REPORTS = {
    "fy2020": ROOT / "sample" / "hitachi-action-plan-fy2020.txt",
    "fy2019": ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2019.txt",
    "fy2021": ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2021.txt",
}


def _pdfminer(data: bytes, **options: object) -> list[str]:
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams

    text = extract_text(io.BytesIO(data), laparams=LAParams(**options))  # type: ignore[arg-type]
    return text.rstrip("\f").split("\f")


def _pypdf(data: bytes, mode: str) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode=mode) for page in PdfReader(io.BytesIO(data)).pages]


READERS: dict[str, Callable[[bytes], list[str]]] = {
    "pdfminer.six (default layout analysis)": _pdfminer,
    "pdfminer.six (wide lines, no box flow)": lambda d: _pdfminer(
        d, char_margin=200.0, line_margin=0.1, boxes_flow=None
    ),
    "pypdf (plain: file order)": lambda d: _pypdf(d, "plain"),
    "pypdf (layout: page order)": lambda d: _pypdf(d, "layout"),
}


def _fields(measure: ParsedMeasure) -> tuple[str, ...]:
    tag = measure.carry_over.tag if measure.carry_over else ""
    parts = (measure.number, measure.title, "、".join(measure.departments), tag)
    return tuple(re.sub(r"\s", "", p) for p in (*parts, measure.description, measure.achievement))


def main() -> None:
    texts = {name: path.read_text(encoding="utf-8") for name, path in REPORTS.items()}
    documents = {
        (layout, name): make(text)
        for layout, make in pdfs.LAYOUTS.items()
        for name, text in texts.items()
    }
    print(f"{len(documents)} PDFs: layouts {', '.join(pdfs.LAYOUTS)} × reports {', '.join(texts)}")
    print()
    print("| reader | measures read | identical | character accuracy | ms per page |")
    print("| --- | --- | --- | --- | --- |")
    for label, read in READERS.items():
        read_count = identical = wanted = pages = 0
        matcher_total = matched = 0.0
        seconds = 0.0
        for (_, name), data in documents.items():
            want = [_fields(m) for m in parse_report(texts[name]).measures]
            started = time.perf_counter()
            extracted = read(data)
            seconds += time.perf_counter() - started
            pages += len(extracted)
            text = join_pages(extracted)
            got = {m.number: _fields(m) for m in parse_report(text).measures}
            wanted += len(want)
            read_count += len(got)
            for fields in want:
                found = got.get(fields[0])
                identical += found == fields
                a, b = "".join(fields), "".join(found or ())
                ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
                matched += ratio * len(a)
                matcher_total += len(a)
        print(
            f"| {label} | {read_count}/{wanted} | {identical}/{wanted} "
            f"| {matched / matcher_total:.1%} | {1000 * seconds / pages:.1f} |"
        )


if __name__ == "__main__":
    main()
