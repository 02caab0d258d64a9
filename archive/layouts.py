"""Layout profiles: how one family of reports prints its measures, as data (#16 point 3).

A profile says how a measure starts (patterns with a named group ``number`` and maybe
``title``, and how that number is normalised), which label words introduce each field,
where a measure's departments come from (a label, a page header that applies to the
measures below it, brackets after the title), which lines are pillar headings, and how a
status is printed (a next-year tag at a line's end, a grade label with its set of values, a
next-year column with its values). ``archive.parse`` runs a profile; it never names one.

Profiles are tried in ``LAYOUTS`` order, so that order is the tie-break (see
``archive.parse.parse_report``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from archive.errors import Refused

DIGIT = r"[0-9０-９]"
NO = r"[NＮ][oOｏＯ][.．]?"  # No, NO, Ｎｏ．
_SPACE = r"[\s　]"
# Pillar numbers: 1, １, Ⅱ, 三 (up to 十九).
PILLAR_NUMBER = rf"(?:{DIGIT}{{1,2}}|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]|十?[一二三四五六七八九]|十)"
# The words that open a pillar heading in the other families; a number follows.
_PILLAR_WORDS = "基本方針|基本目標|施策の柱|改革の柱|取組方針|重点項目|重点取組|政策|施策"


@dataclass(frozen=True)
class Layout:
    """One family of report layouts. ``fields`` of a measure: title, departments,
    description, achievement, grade (an evaluation), next_year (the next-year column)."""

    name: str
    summary: str  # one line, for the README and messages
    # Each a line's start; groups ``number`` and (optional) ``title``. The first match wins.
    measure_starts: tuple[re.Pattern[str], ...]
    # "pad2": an integer, zero-padded to two digits (No 1 -> "01").
    # "code": as printed, NFKC, spaces dropped, dashes made "-" (No.R2-1 -> "R2-1").
    number_style: str
    title_labels: tuple[str, ...] = ()
    department_labels: tuple[str, ...] = ()
    description_labels: tuple[str, ...] = ()
    achievement_labels: tuple[str, ...] = ()
    grade_labels: tuple[str, ...] = ()
    next_year_labels: tuple[str, ...] = ()
    # Values a grade may take, as printed after NFKC (Ａ -> A); 〇 and ◯ count as ○.
    grades: tuple[str, ...] = ()
    # Values of the next-year column (次年度の方向性): 継続, 拡充, …
    next_year_values: tuple[str, ...] = ()
    # A label must be followed by a space, a colon, a bracketed note or the line's end
    # (so 実績値… is not the label 実績).
    label_needs_separator: bool = True
    # Several labels on one line (cells of a table row) are split into one line each.
    inline_labels: bool = False
    # Where a measure starts glued to the end of the previous raw line: split there.
    glued: re.Pattern[str] | None = None
    # Next-year tags ([R3継続]) at the end of a line (Hitachi).
    tags: bool = False
    # A line naming the department of the measures below it (group ``departments``).
    department_header: re.Pattern[str] | None = None
    # Departments in brackets at the end of the title (group ``departments``).
    title_departments: re.Pattern[str] | None = None
    # "総務部 防災課": the division (…部) printed before a section is not a department of its
    # own; the section is.
    department_divisions: bool = False
    # Pillar headings: groups ``number`` and ``title``.
    pillar_heading: re.Pattern[str] | None = None
    # Hitachi's numbered headings look like list items: one counts only when a measure starts
    # right after it, its number follows the last pillar's, and it does not continue a list.
    pillar_strict: bool = False

    @cached_property
    def label_fields(self) -> dict[str, str]:
        """Label word -> field name."""
        pairs = [
            ("title", self.title_labels),
            ("departments", self.department_labels),
            ("description", self.description_labels),
            ("achievement", self.achievement_labels),
            ("grade", self.grade_labels),
            ("next_year", self.next_year_labels),
        ]
        return {word: name for name, words in pairs for word in words}

    @cached_property
    def label_pattern(self) -> re.Pattern[str]:
        """A label, maybe a note in brackets (達成状況（令和２年度）) or a colon, then maybe text;
        group 1 the label, group 2 the rest."""
        words = "|".join(sorted(map(re.escape, self.label_fields), key=len, reverse=True))
        after = r"(?=[\s　:：（(]|$)" if self.label_needs_separator else ""
        return re.compile(
            rf"^\s*({words}){after}(?:[（(][^）)]{{0,20}}[）)])?[\s　]*[:：]?[\s　]*(.*)$"
        )

    @cached_property
    def inline_label(self) -> re.Pattern[str]:
        """A label inside a line, after a space and before a separator (a table row's cell)."""
        words = "|".join(sorted(map(re.escape, self.label_fields), key=len, reverse=True))
        return re.compile(rf"(?<=[\s　])(?:{words})(?=[\s　:：])")

    @cached_property
    def grade_pattern(self) -> re.Pattern[str] | None:
        return _values(self.grades)

    @cached_property
    def next_year_pattern(self) -> re.Pattern[str] | None:
        return _values(self.next_year_values)


def _values(values: tuple[str, ...]) -> re.Pattern[str] | None:
    if not values:
        return None
    words = "|".join(sorted(map(re.escape, values), key=len, reverse=True))
    return re.compile(rf"^(?:{words})(?![A-Za-z])")


HITACHI = Layout(
    name="hitachi",
    summary="情報化推進アクションプラン: No NN 推進事項, 担当部課所, 事業内容, 達成状況, [R3継続]",
    measure_starts=(
        re.compile(rf"^\s*{NO}\s*(?P<number>{DIGIT}{{1,3}})\s*推進事項[\s　:：]*(?P<title>.*)$"),
    ),
    number_style="pad2",
    department_labels=("担当部課所",),
    description_labels=("事業内容",),
    achievement_labels=("達成状況",),
    label_needs_separator=False,
    # Only after a sentence end or a tag: "本事業は No 02 推進事項 と連携" is a cross-reference.
    glued=re.compile(rf"(?<=[。\]］])[\s　]*(?={NO}\s*{DIGIT}{{1,3}}\s*推進事項)"),
    tags=True,
    # １ …, ２．…, （３）…
    pillar_heading=re.compile(
        rf"^\s*(?:[（(]\s*(?P<number>{DIGIT}{{1,2}})\s*[）)]"
        rf"|(?P<bare>{DIGIT}{{1,2}})[.．、]?(?=[\s　.．、]))"
        r"[\s　.．、]*(?P<title>\S.*)$"
    ),
    pillar_strict=True,
)

_EVALUATION_START = rf"【{_SPACE}*{NO}{_SPACE}*(?P<number>{DIGIT}{{1,4}}){_SPACE}*】"
_PILLAR = re.compile(
    rf"^{_SPACE}*(?:{_PILLAR_WORDS}){_SPACE}*(?P<number>{PILLAR_NUMBER})"
    rf"(?:{_SPACE}+|[.．:：、]{_SPACE}*)(?P<title>\S(?:.*[^。.．\s　])?){_SPACE}*$"
)

# A pillar heading glued to the end of the previous line (after a sentence end or a space).
_GLUED_PILLAR = (
    rf"(?<=[。\s　])[\s　]*(?=(?:{_PILLAR_WORDS}){_SPACE}*{PILLAR_NUMBER}(?:{_SPACE}|[.．:：、]))"
)

EVALUATION_SHEET = Layout(
    name="evaluation-sheet",
    summary="事務事業評価: 【No. 021】事務事業名, 所管課, 事業概要, 実績, 評価 S/A/B/C or ○△×, "
    "次年度の方向性",
    measure_starts=(
        re.compile(
            rf"^{_SPACE}*{_EVALUATION_START}{_SPACE}*(?:(?:事務事業名|事業名){_SPACE}*[:：]?)?"
            rf"{_SPACE}*(?P<title>.*)$"
        ),
    ),
    number_style="code",
    title_labels=("事務事業名", "事業名"),
    department_labels=("所管課", "所管部課", "担当課", "担当部署"),
    description_labels=("事業概要", "事業の概要", "事業内容", "目的・概要"),
    achievement_labels=("実績", "取組実績", "事業実績", "成果", "活動実績"),
    grade_labels=("評価", "総合評価", "評価結果", "達成度"),
    next_year_labels=("次年度の方向性", "今後の方向性", "次年度以降の方向性", "方向性"),
    grades=("S", "A", "B", "C", "D", "◎", "○", "△", "×"),
    next_year_values=("継続", "拡充", "縮小", "廃止", "完了", "統合", "見直し", "休止", "終了"),
    inline_labels=True,
    glued=re.compile(rf"(?<=[。])[\s　]*(?={_EVALUATION_START})|{_GLUED_PILLAR}"),
    department_divisions=True,
    pillar_heading=_PILLAR,
)

_CODE = (
    rf"(?:{NO}{_SPACE}*(?P<number>[RＲHＨ]{_SPACE}*{DIGIT}{{1,2}}{_SPACE}*[-－‐ー−]{_SPACE}*{DIGIT}{{1,3}})"
    rf"|(?P<code>{DIGIT}{{4}}{_SPACE}*[-－‐−]{_SPACE}*{DIGIT}{{2}}))"
)

PROGRESS_LIST = Layout(
    name="progress-list",
    summary="行財政改革・DX計画の進捗: No.R2-1 or 0106 - 01 codes, （○○課） after the title or "
    "a page header 担当課：…, 取組内容, 取組実績, 進捗評価 ○△×",
    measure_starts=(
        re.compile(
            rf"^{_SPACE}*{NO}{_SPACE}*(?P<number>[RＲHＨ]{_SPACE}*{DIGIT}{{1,2}}{_SPACE}*"
            rf"[-－‐ー−]{_SPACE}*{DIGIT}{{1,3}})(?:{_SPACE}+|[:：]{_SPACE}*)(?P<title>\S.*)$"
        ),
        re.compile(
            rf"^{_SPACE}*(?P<number>{DIGIT}{{4}}{_SPACE}*[-－‐−]{_SPACE}*{DIGIT}{{2}})"
            rf"{_SPACE}+(?P<title>\S.*)$"
        ),
    ),
    number_style="code",
    title_labels=("取組項目", "取組名", "項目名"),
    department_labels=("所管課", "担当課"),
    description_labels=("取組内容", "取組概要", "事業概要", "内容"),
    achievement_labels=("取組実績", "実績", "進捗状況", "取組状況"),
    grade_labels=("進捗評価", "評価", "進捗度", "達成度"),
    next_year_labels=("今後の方向性", "次年度の方向性"),
    grades=("◎", "○", "△", "×", "概ね達成", "一部達成", "未達成", "達成", "A", "B", "C"),
    next_year_values=("継続", "拡充", "縮小", "廃止", "完了", "統合", "見直し", "休止", "終了"),
    inline_labels=True,
    glued=re.compile(rf"(?<=[。])[\s　]*(?={_CODE}{_SPACE})|{_GLUED_PILLAR}"),
    department_divisions=True,
    # 担当課：情報政策課 (a page header, or a line above a group of measures)
    department_header=re.compile(
        rf"^{_SPACE}*[【［\[]?(?:担当課|担当部署|担当|所管課|所管){_SPACE}*[】］\]]?{_SPACE}*[:：]"
        rf"{_SPACE}*(?P<departments>\S.*?){_SPACE}*[】］\]]?{_SPACE}*$"
    ),
    title_departments=re.compile(
        r"[\s　]*[（(](?P<departments>[^（）()]{1,40}[課室所局部係館園班]"
        r"(?:[、，,・\s　][^（）()]{1,40}[課室所局部係館園班])*)[）)][\s　]*$"
    ),
    pillar_heading=_PILLAR,
)

# Tried in this order; on a tie the earlier profile wins.
LAYOUTS: dict[str, Layout] = {p.name: p for p in (HITACHI, EVALUATION_SHEET, PROGRESS_LIST)}


class UnknownLayout(Refused, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown layout {name!r}; known layouts: {', '.join(LAYOUTS)}")
        self.name = name


def layout_named(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UnknownLayout(name) from None
