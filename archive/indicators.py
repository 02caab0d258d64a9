"""Figures in 達成状況 as records: 投稿総数 99件, 累計リーチ 約 53万人, 1/2程度, 対前年比 110％.

A figure is a number (full-width or not, with thousands separators, decimals, 万/億
multipliers, or a fraction ``1/2``) followed by a counting unit from ``UNITS``, or a fraction
or percentage with a comparison word (程度, 以上…). Dates (令和２年５月, ９月 30日), durations in
names (10分番組) and list markers (１, ①) have no counting unit and are not figures.

For each figure:
- ``value`` is the number with its multiplier (約 53万人 → 530000), a fraction as a ratio;
- ``approximate`` is set by 約 / およそ before it or 程度 / 前後 / ほど after it;
- ``comparison`` is the word that qualifies it (程度, 以上, 以下, 未満, 超, 前後, 余り), if any;
- ``label`` is the noun just before it, when the text names what is counted: the run of
  kanji, katakana and Latin letters that ends where the figure begins, without a leading
  list marker, a trailing 計/約 or a parenthetical (``２ 累計リーチ（延べ閲覧者数） 約 53万人``
  → 累計リーチ); none when a particle or punctuation comes first (会議で 127回 → none);
- ``start``/``end`` are offsets into the text and ``text`` the span as printed.

The rule is measured against hand-made judgements of the sample and both fixtures
(``tests/archive/test_indicators.py``); the figures are in the README.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Counting units, longest first so that ダウンロード wins over a shorter prefix.
UNITS = (
    "ダウンロード",
    "タイル",
    "アクセス",
    "施設",
    "団体",
    "時間",
    "万円",
    "千円",
    "億円",
    "円",
    "件",
    "人",
    "名",
    "回",
    "枚",
    "校",
    "台",
    "社",
    "世帯",
    "%",
)
COMPARISONS = ("程度", "以上", "以下", "未満", "超", "前後", "余り", "ほど")
APPROXIMATE_AFTER = ("程度", "前後", "ほど")
APPROXIMATE_BEFORE = ("約", "およそ", "概ね", "おおむね")

# Matched against NFKC text, whose offsets are those of the original (NFKC keeps the length of
# every character used here: full-width digits, ％, ／ and spaces map one to one).
_NUMBER = r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_FRACTION = r"(?P<numerator>\d+)\s?/\s?(?P<denominator>\d+)"
_MULTIPLIER = r"(?P<multiplier>万|億|千)?"
_UNITS = "|".join(re.escape(u) for u in UNITS)
_AFTER = "(?P<after>" + "|".join(COMPARISONS) + ")?"
_BEFORE = "(?P<before>" + "|".join(APPROXIMATE_BEFORE) + r")?\s?"
_FIGURE = re.compile(
    rf"{_BEFORE}(?:{_FRACTION}(?:\s?(?P<fraction_unit>{_UNITS}))?"
    rf"|{_NUMBER}\s?{_MULTIPLIER}\s?(?P<unit>{_UNITS})){_AFTER}"
)
_MULTIPLIERS = {"万": 10_000, "億": 100_000_000, "千": 1_000}
_LABEL_CHARS = re.compile(r"[\u4e00-\u9fff\u30a0-\u30ffA-Za-z0-9々ー・]+$")
_LIST_MARKER = re.compile(r"^(?:\d+|[①-⑳])\s*")
_PARENTHETICAL = re.compile(r"[（(][^（()）]*[)）]\s*$")


@dataclass(frozen=True)
class Indicator:
    label: str | None
    value: float
    unit: str
    approximate: bool
    comparison: str | None
    text: str  # as printed
    start: int  # offsets into the text it was read from
    end: int


def extract(text: str) -> tuple[Indicator, ...]:
    """The figures in ``text``, in order."""
    return _extract(text)


@lru_cache(maxsize=4096)
def _extract(text: str) -> tuple[Indicator, ...]:
    normal = _fold(text)
    found = []
    for match in _FIGURE.finditer(normal):
        if _inside_word(normal, match.start("number") if match["number"] else match.start()):
            continue
        unit = match["unit"] or match["fraction_unit"] or ""
        if match["numerator"] is not None:
            if not unit and not (match["after"] or "").strip():
                continue  # a bare fraction is a date or a ratio of nothing named
            denominator = int(match["denominator"])
            if denominator == 0:
                continue
            value = int(match["numerator"]) / denominator
        else:
            value = float(match["number"].replace(",", ""))
            value *= _MULTIPLIERS.get(match["multiplier"] or "", 1)
        after = match["after"]
        before = match["before"]
        start, end = match.start(), match.end()
        if before is None:  # the match began at an optional space: the figure starts later
            start = match.start("numerator") if match["numerator"] else match.start("number")
        found.append(
            Indicator(
                label=_label(normal[:start]),
                value=value,
                unit=unit,
                approximate=before is not None or after in APPROXIMATE_AFTER,
                comparison=after,
                text=text[start:end],
                start=start,
                end=end,
            )
        )
    return tuple(found)


def _fold(text: str) -> str:
    """NFKC character by character where that keeps one character per character, so that
    offsets into the result are offsets into ``text``."""
    out = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


def _inside_word(text: str, start: int) -> bool:
    """A number glued to a Latin letter or another digit group is part of a name (Windows 7,
    R3, 第6次); a figure starts on its own."""
    if start == 0:
        return False
    previous = text[start - 1]
    return (previous.isascii() and (previous.isalnum() or previous in "/.,-")) or previous == "第"


def _label(before: str) -> str | None:
    """What the figure counts: the noun that ends right where it begins (module docstring)."""
    head = before.rstrip()
    head = re.sub(r"(?:計|合計|約|およそ|延べ)$", "", head).rstrip()
    head = _PARENTHETICAL.sub("", head).rstrip()
    last_line = head.rsplit("\n", 1)[-1]
    match = _LABEL_CHARS.search(last_line)
    if match is None:
        return None
    label = _LIST_MARKER.sub("", match.group()).strip()
    if not label or label.isdigit() or len(label) < 2:
        return None
    return label
