"""Report text to structure: rejoined lines, pillars (体系), measures (推進事項) and their fields.

The input is text extracted from a PDF, so its quirks are the norm: lines wrapped at the
right margin in the middle of a word, a blank line after most lines, full-width digits,
page numbers, headings with no blank line before them, and a next-year tag (``[R3継続]``)
padded to the right of a measure's last line.

Reading happens in two steps. ``rejoin`` turns raw lines into logical lines: a line that
ran to the right margin continues on the next one, unless the next one visibly starts
something (a list item, a bracketed heading, a label, an indented paragraph). Every logical
line keeps the range of raw lines it came from, so every field can say where it was read
(provenance). ``parse_report`` then walks the logical lines as a small state machine.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from archive.eras import ERA_LETTERS, era_to_western
from archive.municipalities import MunicipalityError
from archive.municipalities import find as find_municipality
from archive.years import report_year

# ---------------------------------------------------------------------------------------------
# Patterns. Each one runs on raw text, so it accepts full- and half-width forms alike.

_DIGIT = r"[0-9０-９]"
_NO = r"[NＮ][oOｏＯ][.．]?"  # No, NO, Ｎｏ．
MEASURE_START = re.compile(rf"^\s*{_NO}\s*({_DIGIT}{{1,3}})\s*推進事項[\s　:：]*(.*)$")
# A measure start glued to the end of the previous line ("…した。 No 10 推進事項 …").
# Only after a sentence end or a tag: "本事業は No 02 推進事項 と連携" is a cross-reference.
_GLUED_MEASURE = re.compile(rf"(?<=[。\]］])[\s　]*(?={_NO}\s*{_DIGIT}{{1,3}}\s*推進事項)")
LABELS = ("担当部課所", "事業内容", "達成状況")
# A label, then maybe a note in brackets (達成状況（令和２年度）) or a colon, then maybe text.
_LABEL = re.compile(
    r"^\s*(担当部課所|事業内容|達成状況)(?:[（(][^）)]{0,20}[）)])?[\s　]*[:：]?[\s　]*(.*)$"
)
# １ …, ２．…, （３）…
PILLAR_HEADING = re.compile(
    rf"^\s*(?:[（(]\s*({_DIGIT}{{1,2}})\s*[）)]|({_DIGIT}{{1,2}})[.．、]?(?=[\s　.．、]))"
    r"[\s　.．、]*(\S.*)$"
)
# Next-year tags: [R3継続], ［Ｒ４継続］, [令和3年度継続], [完了], [新規], [廃止].
TAG = re.compile(
    r"[\[［]\s*(?:(R|Ｒ|H|Ｈ|令和|平成)\s*([0-9０-９]{1,2}|元)\s*(?:年度)?\s*)?"
    r"(継続|完了|新規|廃止|終了|統合|拡充)\s*[\]］]"
)
# A tag with a pillar heading or a measure glued after it: split there.
_TAG_THEN_HEADING = re.compile(
    TAG.pattern + rf"(?=[\s　]*(?:{_DIGIT}{{1,2}}[\s　.．]|{_NO}\s*{_DIGIT}))"
)
# A tag counts only at the end of a line; inside a sentence it is just text.
_NUMBERED = re.compile(rf"^\s*({_DIGIT}{{1,2}})[\s　.．]")
_TAG_AT_END = re.compile(TAG.pattern + r"[\s　]*$")
_PAGE_NUMBER = re.compile(
    r"^[\s　]*(?:[-－‐―–—]\s*[0-9０-９]{1,4}\s*[-－‐―–—]"  # - 3 -
    r"|[0-9０-９]{1,4}\s*[/／]\s*[0-9０-９]{1,4}"  # 3 / 12
    r"|[pPｐＰ]\.?\s*[0-9０-９]{1,4}"  # p.3
    r"|[0-9０-９]{1,3})[\s　]*$"  # a bare page number
)
_LIST_ITEM = re.compile(
    rf"^[\s　]*(?:{_DIGIT}{{1,2}}[\s　]"  # １ 投稿総数…
    r"|[・※●○◆◇■□▪◎★☆]"  # ・… ※…
    r"|[①-⑳㉑-㉟]"  # ①…
    rf"|[（(](?:{_DIGIT}{{1,2}}|[一二三四五六七八九十]{{1,3}})[）)]"  # （1）…
    r"|[ア-ン][\s　.．]"  # ア …
    r")"
)
_BRACKET_HEADING = re.compile(
    r"^[\s　]*([【〔［＜《〈][^】〕］＞》〉]{1,40}[】〕］＞》〉])[\s　]*$"
)
_SENTENCE_END = ("。", "．")
_LATIN = re.compile(r"[A-Za-z0-9]")


# ---------------------------------------------------------------------------------------------
# Rejoining


@dataclass(frozen=True)
class Line:
    """One logical line: wrapped raw lines joined, page furniture and edge spaces dropped.

    ``first`` and ``last`` are 1-based numbers of the raw lines it came from.
    """

    text: str
    first: int
    last: int


@dataclass(frozen=True)
class _Segment:
    text: str  # as in the raw line, edges included
    number: int
    glued: bool  # split off the end of a raw line; always starts a logical line


def display_width(text: str) -> int:
    """Columns on a printed page: full-width characters take two."""
    get = _WIDTHS.get
    return sum([get(c) or _WIDTHS.setdefault(c, _width(c)) for c in text])


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


_WIDTHS: dict[str, int] = {}  # memo of _width: a report uses a few thousand characters


def is_page_furniture(raw: str) -> bool:
    """A page number line such as ``- 3 -``, ``３／12`` or ``p.3``."""
    return bool(_PAGE_NUMBER.match(raw))


def rejoin(text: str) -> list[Line]:
    """Join lines wrapped by the PDF; keep real breaks; drop blank lines and page numbers.

    A line is taken as wrapped when it ran to the right margin. Many PDF extractors end
    every line that did not reach the margin with a space; when a document shows that
    habit it is the signal, otherwise a line counts as full when it is at least 90% as wide
    as the document's long lines. A wrapped line still ends at a sentence end (。), a tag or
    a heading, and never continues into a line that visibly starts something.
    """
    segments = list(_segments(text))
    if not segments:
        return []
    wrapped = _wrap_rule(segments)
    lines: list[Line] = []
    parts: list[str] = []  # the current logical line, joined once it is complete
    first = last = 0
    previous: _Segment | None = None
    for segment in segments:
        stripped = segment.text.strip()
        if (
            parts
            and previous is not None
            and wrapped(previous)
            and not _ends_line(parts[-1], alone=len(parts) == 1)
            and not _starts_line(segment)
        ):
            if _latin_edge(parts[-1][-1], stripped[0]):
                parts.append(" ")
            parts.append(stripped)
            last = segment.number
        else:
            if parts:
                lines.append(Line("".join(parts), first, last))
            parts, first, last = [stripped], segment.number, segment.number
        previous = segment
    lines.append(Line("".join(parts), first, last))
    return lines


def _segments(text: str) -> Iterator[_Segment]:
    """Raw lines with content, split where a tag or a measure start is glued to more text."""
    for number, line in enumerate(text.split("\n"), start=1):
        raw = line.lstrip("\f")  # a page break (PDFs) is not part of the line's indent
        if not raw.strip() or is_page_furniture(raw):
            continue
        pieces = _split_glued(raw)
        for index, piece in enumerate(pieces):
            yield _Segment(piece, number, glued=index > 0)


def _split_glued(raw: str) -> list[str]:
    pieces = [raw]
    tag = _TAG_THEN_HEADING.search(raw)
    if tag:
        pieces = [raw[: tag.end()], raw[tag.end() :]]
    result: list[str] = []
    for piece in pieces:
        parts = _GLUED_MEASURE.split(piece)
        result.extend(part for part in parts if part.strip())
    return result


def _wrap_rule(segments: Sequence[_Segment]) -> _WrapRule:
    ends_with_space = sum(1 for s in segments if s.text[-1] in " \t\u3000")
    share = ends_with_space / len(segments)
    if 0.1 <= share <= 0.9:
        return _WrapRule(trailing_space=True, full_width=0)
    widths = sorted(display_width(s.text.rstrip()) for s in segments)
    long_lines = [w for w in widths if w >= 20] or widths
    p90 = long_lines[min(len(long_lines) - 1, int(len(long_lines) * 0.9))]
    return _WrapRule(trailing_space=False, full_width=int(p90 * 0.9))


@dataclass(frozen=True)
class _WrapRule:
    trailing_space: bool
    full_width: int

    def __call__(self, segment: _Segment) -> bool:
        if segment.glued and segment.text != segment.text.rstrip():
            return False
        if self.trailing_space:
            return segment.text[-1] not in " \t\u3000"
        return display_width(segment.text.rstrip()) >= self.full_width


def _ends_line(text: str, *, alone: bool) -> bool:
    """Whether the raw piece ``text`` ends its logical line (``alone``: it is the whole line)."""
    return (
        text.endswith(_SENTENCE_END)
        or _TAG_AT_END.search(text) is not None
        or (alone and _BRACKET_HEADING.match(text) is not None)
        or (alone and text in LABELS)  # a bare label; a label with text after it may wrap
    )


def _starts_line(segment: _Segment) -> bool:
    raw = segment.text
    return (
        segment.glued
        or raw[0] in " \t\u3000"  # an indented line opens a paragraph
        or _LIST_ITEM.match(raw) is not None
        or _BRACKET_HEADING.match(raw) is not None
        or _LABEL.match(raw) is not None
        or MEASURE_START.match(raw) is not None
        or TAG.fullmatch(raw.strip()) is not None
    )


def _latin_edge(left: str, right: str) -> bool:
    return bool(_LATIN.match(left) and _LATIN.match(right))


# ---------------------------------------------------------------------------------------------
# Structure


@dataclass(frozen=True)
class CarryOver:
    """The next-year tag: ``[R3継続]`` is ``CarryOver("[R3継続]", "継続", 2021)``.

    ``fiscal_year`` is None when the tag names no year (``[完了]``).
    """

    tag: str
    status: str
    fiscal_year: int | None


@dataclass(frozen=True)
class ParsedPillar:
    number: int
    title: str
    first: int
    last: int


@dataclass(frozen=True)
class ParsedMeasure:
    number: str  # zero-padded as printed: "01"
    title: str
    departments: tuple[str, ...]
    departments_others: bool  # the list ended in 外, "and others"
    description: str
    achievement: str
    carry_over: CarryOver | None
    pillar_number: int | None
    first: int
    last: int
    # Raw line ranges (first, last) each field was read from.
    provenance: dict[str, tuple[int, int]]
    # An evaluation as printed (S/A/B/C, ○△×, 達成…), beside the next-year status.
    grade: str | None = None


@dataclass(frozen=True)
class ParsedReport:
    title: str
    lines: tuple[Line, ...]
    pillars: tuple[ParsedPillar, ...]
    measures: tuple[ParsedMeasure, ...]
    fiscal_year: int | None
    fiscal_year_evidence: str | None  # what the year was read from, for messages
    municipality: str | None
    layout: str | None = None  # the layout profile that read it; None: no measures found

    @property
    def text(self) -> str:
        """The rejoined text, one logical line per line."""
        return "\n".join(line.text for line in self.lines)


@dataclass
class _MeasureBuilder:
    number: str
    pillar_number: int | None
    first: int
    last: int
    fields: dict[str, list[Line]] = field(default_factory=dict)
    carry_over: CarryOver | None = None
    carry_over_line: int | None = None
    current: str = "title"

    def add(self, name: str, line: Line) -> None:
        self.current = name
        if line.text:
            self.fields.setdefault(name, []).append(line)
        self.last = max(self.last, line.last)

    def list_numbers(self) -> set[int]:
        numbers = set()
        for lines in self.fields.values():
            for line in lines:
                match = _NUMBERED.match(line.text)
                if match:
                    numbers.add(_int(match.group(1)))
        return numbers

    def build(self) -> ParsedMeasure:
        departments_text = "\n".join(line.text for line in self.fields.get("departments", []))
        departments, others = split_departments(departments_text)
        provenance = {
            name: (lines[0].first, lines[-1].last) for name, lines in self.fields.items() if lines
        }
        if self.carry_over_line is not None:
            provenance["carry_over"] = (self.carry_over_line, self.carry_over_line)
        return ParsedMeasure(
            number=self.number,
            title="".join(line.text for line in self.fields.get("title", [])),
            departments=departments,
            departments_others=others,
            description="\n".join(line.text for line in self.fields.get("description", [])),
            achievement="\n".join(line.text for line in self.fields.get("achievement", [])),
            carry_over=self.carry_over,
            pillar_number=self.pillar_number,
            first=self.first,
            last=self.last,
            provenance=provenance,
        )


def parse_report(text: str) -> ParsedReport:
    """Read a whole report. A text without any ``No NN 推進事項`` block has no measures."""
    lines = rejoin(text)
    pillars: list[ParsedPillar] = []
    measures: list[ParsedMeasure] = []
    builder: _MeasureBuilder | None = None
    for index, line in enumerate(lines):
        start = MEASURE_START.match(line.text)
        if start:
            if builder:
                measures.append(builder.build())
            builder = _MeasureBuilder(
                number=str(_int(start.group(1))).zfill(2),
                pillar_number=pillars[-1].number if pillars else None,
                first=line.first,
                last=line.last,
            )
            title_line = Line(start.group(2).strip(), line.first, line.last)
            builder.add("title", _take_tag(builder, title_line))
            continue
        pillar = _pillar_heading(lines, index, pillars, builder)
        if pillar:
            if builder:
                measures.append(builder.build())
                builder = None
            pillars.append(pillar)
            continue
        if builder is None:
            continue  # the title and preamble before the first measure
        label = _LABEL.match(line.text)
        if label:
            name = {
                "担当部課所": "departments",
                "事業内容": "description",
                "達成状況": "achievement",
            }
            rest = Line((label.group(2) or "").strip(), line.first, line.last)
            builder.add(name[label.group(1)], _take_tag(builder, rest))
            continue
        builder.add(builder.current, _take_tag(builder, line))
    if builder:
        measures.append(builder.build())
    title = lines[0].text if lines else ""
    fiscal_year, evidence = _infer_fiscal_year(title, opening_lines(lines), text)
    return ParsedReport(
        title=title,
        lines=tuple(lines),
        pillars=tuple(pillars),
        measures=tuple(measures),
        fiscal_year=fiscal_year,
        fiscal_year_evidence=evidence,
        municipality=municipality_from_title(title, opening_lines(lines)),
    )


def opening_lines(lines: Sequence[Line], count: int = 10) -> str:
    """The lines after the title where a report states its municipality and year."""
    return "\n".join(line.text for line in lines[1 : count + 1])


def _take_tag(builder: _MeasureBuilder, line: Line) -> Line:
    """Record a next-year tag at the end of a line on the measure (the last one printed wins)
    and return the line without it. A bracket inside a sentence is text, not a tag."""
    match = _TAG_AT_END.search(line.text)
    if not match:
        return line
    builder.carry_over = parse_tag(match.group(0))
    builder.carry_over_line = line.last
    remainder = (line.text[: match.start()] + line.text[match.end() :]).strip()
    return Line(remainder, line.first, line.last)


def _pillar_heading(
    lines: Sequence[Line],
    index: int,
    pillars: Sequence[ParsedPillar],
    builder: _MeasureBuilder | None,
) -> ParsedPillar | None:
    """A numbered line is a pillar heading only when a measure starts right after it.

    Numbered list items (``２ 累計リーチ…``) look the same, so a heading must also carry no
    tag, follow the last pillar's number, and not continue a list the current measure has.
    """
    line = lines[index]
    match = PILLAR_HEADING.match(line.text)
    if not match or _TAG_AT_END.search(line.text):
        return None
    if index + 1 >= len(lines) or not MEASURE_START.match(lines[index + 1].text):
        return None
    number = _int(match.group(1) or match.group(2))
    if pillars and number != pillars[-1].number + 1:
        return None
    if builder and number - 1 in builder.list_numbers():
        return None
    return ParsedPillar(number, match.group(3).strip(), line.first, line.last)


def parse_tag(tag: str) -> CarryOver:
    match = TAG.fullmatch(tag.strip())
    if not match:
        raise ValueError(f"not a next-year tag: {tag!r}")
    era, year, status = match.groups()
    fiscal_year = None
    if era and year:
        era_name = ERA_LETTERS.get(unicodedata.normalize("NFKC", era), era)
        with contextlib.suppress(ValueError):  # [R0継続] names no year; keep the tag as printed
            fiscal_year = era_to_western(era_name, year)
    return CarryOver(tag.strip(), status, fiscal_year)


def split_departments(text: str) -> tuple[tuple[str, ...], bool]:
    """``"政策企画課、行政マネジメント課 外"`` -> ``(("政策企画課", "行政マネジメント課"), True)``.

    A trailing 外 ("and others") is a flag, not a department.
    """
    text = text.strip()
    others = False
    # 外 after a separator, or glued to a department's suffix when a wrap joined the lines.
    match = re.search(rf"(?:[\s　、]+|^|(?<=[{_DEPARTMENT_SUFFIXES}]))外$", text)
    if match:
        others = True
        text = text[: match.start()]
    names: list[str] = []
    for piece in re.split(r"[、，,]", text):
        words = piece.split()
        # "秘書課　広報戦略課": spaces separate departments only when every part is one.
        if len(words) > 1 and all(w[-1] in _DEPARTMENT_SUFFIXES for w in words):
            names.extend(words)
        elif piece.strip():
            names.append(" ".join(words))
    return tuple(names), others


_DEPARTMENT_SUFFIXES = "課室所局部係館園班"


def department_key(name: str) -> str:
    """The form two spellings of one department share: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def municipality_from_title(title: str, opening: str = "") -> str | None:
    """The official name of the government the title (else the opening lines) names, from
    the list of ``archive.municipalities``; None when it names none or is ambiguous
    (``prepare_document`` says which)."""
    with contextlib.suppress(MunicipalityError):
        found = find_municipality(title, opening)
        return found.name if found else None
    return None


def _infer_fiscal_year(title: str, opening: str, text: str) -> tuple[int | None, str | None]:
    """The report's fiscal year by the rule of ``archive.years.report_year``: the title, an
    explicit statement in the opening lines, the year before most next-year tags, the count."""
    tag_years = [
        carry.fiscal_year - 1
        for carry in (parse_tag(m.group(0)) for m in TAG.finditer(text))
        if carry.fiscal_year is not None
    ]
    return report_year(title, opening, text, tag_years)


def _int(digits: str) -> int:
    return int(unicodedata.normalize("NFKC", digits))
