"""The fiscal year a report is about, and every way a report writes a fiscal year.

Forms read (after NFKC, so full-width digits count): era years 令和2年度, 平成30年度, 昭和63年度,
元年度 (令和元年度 = 2019), era letters R2年度 / H30年度, Western years 2010年度, and both together
令和2（2020）年度 or 2020（令和2）年度, counted once. Only 年度 counts: a date such as 令和3年3月
falls in fiscal year 2020, so a bare year says nothing reliable about the fiscal year. A plan
period (令和2年度～令和6年度, 2020～2024年度) names no single year and is skipped.

The report's year (``report_year``), first rule that answers:

1. the title: a year stated as the report's (令和2年度実績, 令和2年度の取組状況) wins, else the
   first year of the title;
2. an explicit statement in the opening lines: 令和2年度の実績 / 実施状況 / 取組状況 / 進捗 /
   評価 / 結果 / 報告, or 対象年度：2020年度 (also 評価対象年度, 実施年度, 報告年度);
3. the next-year tags of the measures ([R3継続]): the year before the most frequent one;
4. the count of 年度 mentions in the whole text, leaving out the years the text calls next
   year's (次年度 / 翌年度 / 来年度, as in 次年度（令和4年度）) or a target year (目標年度). A tie
   goes to the latest tied year that is before every year called next year's or a target
   (the year reported comes right before the year planned); without such a year, to the latest
   tied year (a report looks back on its own year, and an earlier year it mentions as often
   is a baseline: 前年度比, 基準年度).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

ERA_OFFSETS: dict[str, int] = {"令和": 2018, "平成": 1988, "昭和": 1925}
_LETTERS = {"R": "令和", "H": "平成", "S": "昭和"}

_ERA = r"(?:令和|平成|昭和|(?<![A-Za-z])[RHS])"
_NUMBER = r"(?:元|\d{1,2})"
_OPEN, _CLOSE = r"[(（]", r"[)）]"
# 令和2年度, R2年度, 令和2(2020)年度, 2020(令和2)年度, 2020年度
_YEAR = re.compile(
    rf"(?P<era>{_ERA})\s*(?P<number>{_NUMBER})\s*(?:{_OPEN}\s*(?P<paired>\d{{4}})\s*{_CLOSE})?"
    r"\s*年度"
    rf"|(?<!\d)(?P<western>\d{{4}})\s*(?:{_OPEN}\s*{_ERA}\s*{_NUMBER}\s*{_CLOSE})?\s*年度"
)
# A range: 令和2年度～令和6年度, 令和2～6年度, 2020～2024年度, 2020年度から2024年度まで
_ONE = rf"(?:{_ERA}\s*{_NUMBER}|\d{{4}})\s*(?:{_OPEN}[^)）]{{1,10}}{_CLOSE})?\s*(?:年度)?"
_RANGE = re.compile(
    rf"{_ONE}\s*(?:[~〜～ー－\-–—]|から)\s*(?:{_ERA}\s*)?(?:{_NUMBER}|\d{{4}})\s*年度"
)
_REPORTED = r"\s*の?\s*(?:実績|実施状況|取組状況|取組実績|取り組み状況|進捗|評価|結果|報告|成果)"
_STATED_BEFORE = re.compile(r"(?:評価対象年度|対象年度|実施年度|報告年度|評価年度)\s*[:：]?\s*$")
_FORWARD_BEFORE = re.compile(r"(?:次年度|翌年度|来年度|目標年度)\s*[(（:：]?\s*$")
_FORWARD_AFTER = re.compile(r"^(?:\s*[(（]\s*(?:次年度|翌年度|来年度)|\s*の?目標)")


@dataclass(frozen=True)
class YearMention:
    """One fiscal year written in a text: its Western year and where (in the NFKC text)."""

    year: int
    start: int
    end: int


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _western(match: re.Match[str]) -> int | None:
    if match.group("western"):
        return int(match.group("western"))
    era = match.group("era")
    era = _LETTERS.get(era.upper(), era)
    number = 1 if match.group("number") == "元" else int(match.group("number"))
    if number < 1:
        return None  # 令和0年度 names no year
    return ERA_OFFSETS[era] + number


def year_mentions(text: str) -> list[YearMention]:
    """Every fiscal year ``text`` writes, in order; plan periods left out. Positions are in
    the NFKC form of ``text``."""
    normalized = _blank_ranges(_normalize(text))
    mentions = []
    for match in _YEAR.finditer(normalized):
        year = _western(match)
        if year is not None:
            mentions.append(YearMention(year, match.start(), match.end()))
    return mentions


def fiscal_years(text: str) -> list[int]:
    """The Western years of ``year_mentions``: ``"２０２０年度と令和元年度"`` -> [2020, 2019]."""
    return [mention.year for mention in year_mentions(text)]


def _blank_ranges(normalized: str) -> str:
    """Plan periods replaced by spaces of the same length: positions stay valid."""
    return _RANGE.sub(lambda match: " " * len(match.group(0)), normalized)


def stated_years(text: str) -> list[int]:
    """Years ``text`` states as the report's own: 令和2年度の実績, 対象年度：2020年度."""
    normalized = _blank_ranges(_normalize(text))
    stated = []
    for mention in year_mentions(text):
        before = normalized[max(0, mention.start - 12) : mention.start]
        after = normalized[mention.end : mention.end + 12]
        if _STATED_BEFORE.search(before) or re.match(_REPORTED, after):
            stated.append(mention.year)
    return stated


def _forward_years(text: str) -> set[int]:
    normalized = _blank_ranges(_normalize(text))
    forward = set()
    for mention in year_mentions(text):
        before = normalized[max(0, mention.start - 8) : mention.start]
        after = normalized[mention.end : mention.end + 8]
        if _FORWARD_BEFORE.search(before) or _FORWARD_AFTER.match(after):
            forward.add(mention.year)
    return forward


def counted_year(text: str) -> int | None:
    """Rule 4: the most frequent year not called next year's or a target; ties as documented."""
    forward = _forward_years(text)
    counts = Counter(year for year in fiscal_years(text) if year not in forward)
    if not counts:
        return None
    top = max(counts.values())
    tied = [year for year, count in counts.items() if count == top]
    before_forward = [year for year in tied if forward and year < min(forward)]
    return max(before_forward or tied)


def report_year(
    title: str, opening: str, text: str, tag_years: Sequence[int] = ()
) -> tuple[int | None, str | None]:
    """The report's fiscal year and what it was read from (for messages); see the module."""
    stated = stated_years(title)
    in_title = fiscal_years(title)
    if stated or in_title:
        return (stated or in_title)[0], f"the title ({title})"
    stated = stated_years(opening)
    if stated:
        return stated[0], "a statement in the opening lines"
    if tag_years:
        year, _ = Counter(tag_years).most_common(1)[0]
        return year, "the next-year tags"
    counted = counted_year(text)
    if counted is not None:
        return counted, "the 年度 dates in the text"
    return None, None
