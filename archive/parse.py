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

What a measure start, a label, a department, a pillar heading and a status look like is not
written here but in a layout profile (``archive.layouts``): the patterns below are Hitachi's,
and ``parse_report`` runs whichever profile fits the text best, or the one it is told.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from archive.eras import ERA_LETTERS, era_to_western
from archive.layouts import DIGIT, HITACHI, LAYOUTS, NO, Layout, layout_named
from archive.municipalities import MunicipalityError
from archive.municipalities import find as find_municipality
from archive.years import report_year

# ---------------------------------------------------------------------------------------------
# Patterns. Each one runs on raw text, so it accepts full- and half-width forms alike.

# The Hitachi profile's patterns (archive/layouts.py), under the names they always had.
_DIGIT = DIGIT
_NO = NO
MEASURE_START = HITACHI.measure_starts[0]
LABELS = tuple(HITACHI.label_fields)
_LABEL = HITACHI.label_pattern
PILLAR_HEADING = HITACHI.pillar_heading
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


def rejoin(text: str, layout: Layout = HITACHI) -> list[Line]:
    """Join lines wrapped by the PDF; keep real breaks; drop blank lines and page numbers.

    A line is taken as wrapped when it ran to the right margin. Many PDF extractors end
    every line that did not reach the margin with a space; when a document shows that
    habit it is the signal, otherwise a line counts as full when it is at least 90% as wide
    as the document's long lines. A wrapped line still ends at a sentence end (。), a tag or
    a heading, and never continues into a line that visibly starts something (a measure start,
    a label, a department header or a heading as ``layout`` prints them).
    """
    segments = list(_segments(text, layout))
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
            and not _ends_line(parts[-1], layout, alone=len(parts) == 1)
            and not _starts_line(segment, layout)
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


def _segments(text: str, layout: Layout) -> Iterator[_Segment]:
    """Raw lines with content, split where a tag or a measure start is glued to more text."""
    for number, line in enumerate(text.split("\n"), start=1):
        raw = line.lstrip("\f")  # a page break (PDFs) is not part of the line's indent
        if not raw.strip() or is_page_furniture(raw):
            continue
        pieces = _split_glued(raw, layout)
        for index, piece in enumerate(pieces):
            yield _Segment(piece, number, glued=index > 0)


def _split_glued(raw: str, layout: Layout) -> list[str]:
    pieces = [raw]
    tag = _TAG_THEN_HEADING.search(raw) if layout.tags else None
    if tag:
        pieces = [raw[: tag.end()], raw[tag.end() :]]
    if layout.glued is None:
        return [piece for piece in pieces if piece.strip()]
    result: list[str] = []
    for piece in pieces:
        # Where the pattern matches, without its groups (a profile's may have some).
        bounds = [0, *(i for m in layout.glued.finditer(piece) for i in m.span()), len(piece)]
        parts = [piece[a:b] for a, b in zip(bounds[::2], bounds[1::2], strict=True)]
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


def _ends_line(text: str, layout: Layout, *, alone: bool) -> bool:
    """Whether the raw piece ``text`` ends its logical line (``alone``: it is the whole line)."""
    return (
        text.endswith(_SENTENCE_END)
        or _TAG_AT_END.search(text) is not None
        or (alone and _BRACKET_HEADING.match(text) is not None)
        or (alone and text in layout.label_fields)  # a bare label; one with text may wrap
    )


def _starts_line(segment: _Segment, layout: Layout) -> bool:
    raw = segment.text
    return (
        segment.glued
        or raw[0] in " \t\u3000"  # an indented line opens a paragraph
        or _LIST_ITEM.match(raw) is not None
        or _BRACKET_HEADING.match(raw) is not None
        or layout.label_pattern.match(raw) is not None
        or any(start.match(raw) for start in layout.measure_starts)
        or TAG.fullmatch(raw.strip()) is not None
        or bool(layout.department_header and layout.department_header.match(raw))
        or (
            not layout.pillar_strict
            and layout.pillar_heading is not None
            and layout.pillar_heading.match(raw) is not None
        )
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
    grade: str | None = None
    # The department header above the measure (its text and raw lines), if the layout has one.
    header: Line | None = None

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

    def build(self, layout: Layout) -> ParsedMeasure:
        title = "".join(line.text for line in self.fields.get("title", []))
        department_lines = self.fields.get("departments", [])
        departments_text = "\n".join(line.text for line in department_lines)
        provenance = {
            _PROVENANCE_NAMES.get(name, name): (lines[0].first, lines[-1].last)
            for name, lines in self.fields.items()
            if lines
        }
        bracket = layout.title_departments.search(title) if layout.title_departments else None
        if bracket:
            title = title[: bracket.start()]
        if not department_lines and bracket:
            departments_text = bracket.group("departments")
            provenance["departments"] = provenance["title"]
        elif not department_lines and self.header is not None:
            departments_text = self.header.text
            provenance["departments"] = (self.header.first, self.header.last)
        if layout.department_divisions:
            departments_text = _drop_divisions(departments_text)
        departments, others = split_departments(departments_text)
        if self.carry_over_line is not None:
            provenance["carry_over"] = (self.carry_over_line, self.carry_over_line)
        return ParsedMeasure(
            number=self.number,
            title=title,
            departments=departments,
            departments_others=others,
            description="\n".join(line.text for line in self.fields.get("description", [])),
            achievement="\n".join(line.text for line in self.fields.get("achievement", [])),
            carry_over=self.carry_over,
            pillar_number=self.pillar_number,
            first=self.first,
            last=self.last,
            provenance=provenance,
            grade=self.grade,
        )


def _drop_divisions(text: str) -> str:
    """A division (…部) printed before a section of it, dropped: "総務部 防災課" -> "防災課"."""
    words = re.split(r"([、，,\s　]+)", text)  # words at even indexes, separators between
    kept: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if (
            index % 2 == 0
            and word.endswith("部")
            and index + 2 < len(words)
            and not re.search(r"[、，,]", words[index + 1])
            and words[index + 2] != ""
            and words[index + 2][-1] in "課室所係館園班"
        ):
            index += 2  # the division and the space after it
            continue
        kept.append(word)
        index += 1
    return "".join(kept)


# Fields whose provenance goes by another name: the next-year column is the carry-over.
_PROVENANCE_NAMES = {"next_year": "carry_over"}


def parse_report(text: str, layout: str | None = None) -> ParsedReport:
    """Read a whole report with the layout profile named ``layout`` (``archive.layouts``), or
    with the one that fits best when None.

    Best fit: the profile that reads the most measures, then the most filled fields (title,
    departments, description, achievement, grade, next-year status, over all measures); on a
    tie the earlier profile in ``LAYOUTS`` (hitachi, evaluation-sheet, progress-list). A
    profile other than Hitachi's is tried only when one of its measure starts is in the
    text, and counts only when some measure it reads has more than a title; when no profile
    reads a measure the report is read as Hitachi's and ``layout`` is None.
    Raises ``UnknownLayout`` (a ValueError) for a name no profile has.
    """
    if layout is not None:
        return _read(text, layout_named(layout))
    best = _read(text, HITACHI)
    raw_lines = text.split("\n")
    for candidate in list(LAYOUTS.values())[1:]:
        if not any(_measure_start(candidate, raw) for raw in raw_lines):
            continue
        report = _read(text, candidate)
        if _has_content(report) and _fit(report) > _fit(best):
            best = report
    return best


def _has_content(report: ParsedReport) -> bool:
    """Whether some measure has more than a title: a line that merely looks like a measure
    start (``2021-04 開始``) is not enough for a profile to be picked."""
    return any(
        m.description or m.achievement or m.grade is not None or m.carry_over is not None
        for m in report.measures
    )


def _fit(report: ParsedReport) -> tuple[int, int]:
    filled = sum(
        bool(m.title)
        + bool(m.departments)
        + bool(m.description)
        + bool(m.achievement)
        + (m.grade is not None)
        + (m.carry_over is not None)
        for m in report.measures
    )
    return len(report.measures), filled


def _read(text: str, layout: Layout) -> ParsedReport:
    """Read ``text`` with one layout profile: rejoin, then a small state machine."""
    lines = rejoin(text, layout)
    title = lines[0].text if lines else ""
    fiscal_year, evidence = _infer_fiscal_year(title, opening_lines(lines), text)
    pillars: list[ParsedPillar] = []
    measures: list[ParsedMeasure] = []
    builder: _MeasureBuilder | None = None
    header: Line | None = None  # the department header in force
    for index, line in enumerate(lines):
        start = _measure_start(layout, line.text)
        if start:
            if builder:
                measures.append(builder.build(layout))
            builder = _MeasureBuilder(
                number=_number(layout, start.group("number")),
                pillar_number=pillars[-1].number if pillars else None,
                first=line.first,
                last=line.last,
                header=header,
            )
            title_text = (start.groupdict().get("title") or "").strip()
            title_line = Line(title_text, line.first, line.last)
            builder.add("title", _take_tag(layout, builder, title_line))
            continue
        if layout.department_header is not None:
            named = layout.department_header.match(line.text)
            if named:
                found = Line(named.group("departments"), line.first, line.last)
                if builder and builder.header is None and "departments" not in builder.fields:
                    builder.add("departments", found)  # no header above: the measure's label
                else:
                    header = found  # for the measures below; page furniture for this one
                continue
        pillar = _pillar_heading(layout, lines, index, pillars, builder)
        if pillar:
            if builder:
                measures.append(builder.build(layout))
                builder = None
            pillars.append(pillar)
            continue
        if builder is None:
            continue  # the title and preamble before the first measure
        for piece in _cells(layout, line):
            label = layout.label_pattern.match(piece.text)
            if label:
                name = layout.label_fields[label.group(1)]
                rest = Line((label.group(2) or "").strip(), piece.first, piece.last)
                _add(layout, builder, name, rest, fiscal_year)
                continue
            _add(layout, builder, builder.current, piece, fiscal_year)
    if builder:
        measures.append(builder.build(layout))
    return ParsedReport(
        title=title,
        lines=tuple(lines),
        pillars=tuple(pillars),
        measures=tuple(measures),
        fiscal_year=fiscal_year,
        fiscal_year_evidence=evidence,
        municipality=municipality_from_title(title, opening_lines(lines)),
        layout=layout.name if measures else None,
    )


def _measure_start(layout: Layout, text: str) -> re.Match[str] | None:
    for pattern in layout.measure_starts:
        match = pattern.match(text)
        if match:
            return match
    return None


def _number(layout: Layout, printed: str) -> str:
    if layout.number_style == "pad2":
        return str(_int(printed)).zfill(2)
    code = re.sub(r"\s+", "", unicodedata.normalize("NFKC", printed))
    return re.sub(r"[‐ー−–—]", "-", code)


def _cells(layout: Layout, line: Line) -> list[Line]:
    """A line holding several labels (a table row: ``評価 Ａ 次年度の方向性 継続``) as one
    line per label; any other line as it is."""
    if not layout.inline_labels or not layout.label_pattern.match(line.text):
        return [line]
    cuts = [m.start() for m in layout.inline_label.finditer(line.text)]
    if not cuts:
        return [line]
    bounds = [0, *cuts, len(line.text)]
    return [
        Line(line.text[a:b].strip(), line.first, line.last)
        for a, b in itertools.pairwise(bounds)
        if line.text[a:b].strip()
    ]


def _add(
    layout: Layout, builder: _MeasureBuilder, name: str, line: Line, fiscal_year: int | None
) -> None:
    """One line's text for field ``name``; a grade or a next-year value is read off it."""
    if name == "grade":
        if builder.grade is None and layout.grade_pattern is not None:
            value = layout.grade_pattern.match(_plain(line.text))
            if value:
                builder.grade = value.group(0)
        builder.add(name, line)
        return
    if name == "next_year":
        if layout.next_year_pattern is not None and builder.carry_over is None:
            value = layout.next_year_pattern.match(_plain(line.text))
            if value:
                status = value.group(0)
                builder.carry_over = CarryOver(
                    status, status, fiscal_year + 1 if fiscal_year is not None else None
                )
        builder.add(name, line)
        return
    builder.add(name, _take_tag(layout, builder, line))


def _plain(text: str) -> str:
    """NFKC with the circle and cross look-alikes made one: 〇 ◯ -> ○, ✕ ✖ -> ×."""
    return unicodedata.normalize("NFKC", text).translate(_LOOKALIKES).strip()


_LOOKALIKES = str.maketrans({"〇": "○", "◯": "○", "✕": "×", "✖": "×", "╳": "×"})


def opening_lines(lines: Sequence[Line], count: int = 10) -> str:
    """The lines after the title where a report states its municipality and year."""
    return "\n".join(line.text for line in lines[1 : count + 1])


def _take_tag(layout: Layout, builder: _MeasureBuilder, line: Line) -> Line:
    """Record a next-year tag at the end of a line on the measure (the last one printed wins)
    and return the line without it. A bracket inside a sentence is text, not a tag."""
    if not layout.tags:
        return line
    match = _TAG_AT_END.search(line.text)
    if not match:
        return line
    builder.carry_over = parse_tag(match.group(0))
    builder.carry_over_line = line.last
    remainder = (line.text[: match.start()] + line.text[match.end() :]).strip()
    return Line(remainder, line.first, line.last)


def _pillar_heading(
    layout: Layout,
    lines: Sequence[Line],
    index: int,
    pillars: Sequence[ParsedPillar],
    builder: _MeasureBuilder | None,
) -> ParsedPillar | None:
    """A line the layout prints as a pillar heading.

    Under ``pillar_strict`` (Hitachi's bare numbers), numbered list items (``２ 累計リーチ…``)
    look the same, so a heading must also be followed by a measure start, carry no tag,
    follow the last pillar's number, and not continue a list the current measure has.
    """
    if layout.pillar_heading is None:
        return None
    line = lines[index]
    match = layout.pillar_heading.match(line.text)
    if not match:
        return None
    groups = match.groupdict()
    number = _pillar_number(groups.get("number") or groups.get("bare") or "")
    if number is None:
        return None
    title = match.group("title").strip()
    if not layout.pillar_strict:
        return ParsedPillar(number, title, line.first, line.last)
    if _TAG_AT_END.search(line.text):
        return None
    if index + 1 >= len(lines) or not _measure_start(layout, lines[index + 1].text):
        return None
    if pillars and number != pillars[-1].number + 1:
        return None
    if builder and number - 1 in builder.list_numbers():
        return None
    return ParsedPillar(number, title, line.first, line.last)


_KANJI_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九", start=1)}


def _pillar_number(printed: str) -> int | None:
    """１ -> 1, Ⅱ -> 2, 十二 -> 12."""
    text = unicodedata.normalize("NFKC", printed)
    if text.isdigit():
        return int(text)
    if text and set(text) <= set("IVX"):
        roman = {"I": 1, "V": 5, "X": 10}
        values = [roman[c] for c in text]
        return sum(-v if v < w else v for v, w in zip(values, [*values[1:], 0], strict=True))
    if text and set(text) <= {*_KANJI_DIGITS, "十"}:
        tens, _, ones = text.rpartition("十") if "十" in text else ("", "", text)
        return (
            (_KANJI_DIGITS.get(tens, 1) * 10 if "十" in text else 0) + _KANJI_DIGITS.get(ones, 0)
        ) or None
    return None


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
