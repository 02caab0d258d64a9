"""PDFs of a report, made the way offices make them, for the PDF reader's tests and benchmark.

The text is set in a subset of Noto Sans CJK JP (``tests/fixtures/fonts``), embedded as a
TrueType CID font with a ``ToUnicode`` map, which is what word processors on Japanese office
machines write. Three layouts:

- ``lines``: every line of the text file where it was, a page number at each page's foot;
- ``table``: each measure as a bordered form (``No 01 | 推進事項 | title`` and
  ``担当部課所 | …`` rows; 事業内容 and 達成状況 as headings over their text), the PDF itself
  wrapping the text to the column, the tag at the right of the last line;
- ``columns``: the same form with 事業内容 and 達成状況 in a label column at the left of their
  text, drawn after it, so a reader that follows the file's order takes them out of place.

The forms are drawn from the fields our parser reads from the text, so for them the
comparison is a round trip through our own parser; ``lines`` depends on nothing of ours.

A misread map (``misread``): characters a reader sees as NUL or half a surrogate pair.

And the refusals: a scanned page (an image, no text), an encrypted file, a truncated file.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF

from archive.parse import ParsedReport, parse_report, rejoin

FONT = Path(__file__).parent / "fixtures" / "fonts" / "NotoSansJP-test-subset.ttf"
LINES_PER_PAGE = 40


class _Numbered(FPDF):
    """Prints ``- n -`` at the foot of every page, as the reports do."""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("jp", size=8)
        self.cell(0, 5, f"- {self.page_no()} -", align="C")


def _numbered() -> _Numbered:
    pdf = _Numbered(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("jp", fname=str(FONT))
    pdf.set_font("jp", size=9)
    return pdf


def lines(text: str, *, compress: bool = True) -> bytes:
    pdf = _numbered()
    pdf.set_compression(compress)
    rows = text.split("\n")
    for start in range(0, len(rows), LINES_PER_PAGE):
        pdf.add_page()
        for row in rows[start : start + LINES_PER_PAGE]:
            pdf.cell(0, 5.5, row.rstrip(), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def table(text: str) -> bytes:
    return _form(text, label_column=False)


def columns(text: str) -> bytes:
    return _form(text, label_column=True)


def _form(text: str, label_column: bool) -> bytes:
    report = parse_report(text)
    pdf = _numbered()
    pdf.add_page()
    label_width, width = 24.0, pdf.epw
    for line in _preamble(report, text):
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pillars = {p.number: p for p in report.pillars}
    shown: set[int] = set()
    for measure in report.measures:
        pillar = measure.pillar_number
        if pillar is not None and pillar not in shown and pillar in pillars:
            shown.add(pillar)
            pdf.ln(2)
            pdf.cell(
                0, 7, f" {_wide(pillar)} {pillars[pillar].title}", new_x="LMARGIN", new_y="NEXT"
            )
        if pdf.will_page_break(40):
            pdf.add_page()
        pdf.ln(2)
        pdf.cell(16, 6, f"No {measure.number}", border=1)
        pdf.cell(label_width, 6, "推進事項", border=1)
        pdf.cell(
            width - 16 - label_width, 6, measure.title, border=1, new_x="LMARGIN", new_y="NEXT"
        )
        departments = "、".join(measure.departments) + (" 外" if measure.departments_others else "")
        pdf.cell(label_width, 6, "担当部課所", border=1)
        pdf.cell(width - label_width, 6, departments, border=1, new_x="LMARGIN", new_y="NEXT")
        tag = measure.carry_over.tag if measure.carry_over else ""
        for label, body in (("事業内容", measure.description), ("達成状況", measure.achievement)):
            if label_column:
                top = pdf.get_y()
                pdf.set_x(pdf.l_margin + label_width)
                pdf.multi_cell(width - label_width, 5.5, body, border=1, new_x="LMARGIN")
                bottom = pdf.get_y()
                pdf.rect(pdf.l_margin, top, label_width, bottom - top)
                pdf.set_xy(pdf.l_margin, top)
                pdf.cell(label_width, 5.5, label, new_x="LMARGIN")  # at the top of its cell
                pdf.set_y(bottom)
            else:
                pdf.cell(width, 6, label, border="LTR", new_x="LMARGIN", new_y="NEXT")
                pdf.multi_cell(width, 5.5, body, border="LRB", new_x="LMARGIN", new_y="NEXT")
        if tag:
            pdf.set_y(pdf.get_y() - 5.5)
            pdf.cell(width - 2, 5.5, tag, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _preamble(report: ParsedReport, text: str) -> list[str]:
    """The lines before the first pillar or measure: the title and its introduction."""
    starts = [p.first for p in report.pillars] + [m.first for m in report.measures]
    first = min(starts, default=len(text.split("\n")) + 1)
    return [line.text for line in rejoin(text) if line.last < first]


def _wide(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def misread(text: str, codes: dict[str, str]) -> bytes:
    """``lines(text)`` whose font's ToUnicode map says each character of ``codes`` is another
    UTF-16 code unit: "0000" (how some writers mark a glyph as no character) or half of a
    surrogate pair such as "D800" (a broken map). A reader can only pass these on."""
    data = lines(text, compress=False)  # the map in plain text, to rewrite in place
    for character, code in codes.items():
        mapped = f"> <{ord(character):04X}>".encode()
        assert mapped in data, character
        data = data.replace(mapped, f"> <{code}>".encode())  # same length: offsets hold
    return data


def scanned() -> bytes:
    """A page that is only a picture of text: what a scanner makes."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(image)
    for row in range(40, 1000, 30):
        draw.rectangle((60, row, 740, row + 12), fill=40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(buffer, x=0, y=0, w=pdf.w)
    return bytes(pdf.output())


def encrypted(text: str, user_password: str = "secret") -> bytes:
    pdf = _numbered()
    pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.add_page()
    for row in text.split("\n")[:LINES_PER_PAGE]:
        pdf.cell(0, 5.5, row.rstrip(), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


LAYOUTS: dict[str, Callable[[str], bytes]] = {"lines": lines, "table": table, "columns": columns}
