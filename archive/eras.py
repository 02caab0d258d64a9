"""Japanese era years (令和, 平成) and Western fiscal years.

A fiscal year is always a Western ``int`` inside plan-archive: 令和2年度 is 2020. The
conversions live here so that the parser, the index and the query syntax agree.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata

# First Western year of each era, minus one: 令和N = 2018 + N, 平成N = 1988 + N.
ERA_OFFSETS: dict[str, int] = {"令和": 2018, "平成": 1988}
ERA_LETTERS: dict[str, str] = {"R": "令和", "H": "平成"}

_ERA_YEAR = re.compile(r"(令和|平成)\s*(元|\d{1,2})\s*年度?")
_ERA_FISCAL_YEAR = re.compile(r"(令和|平成)\s*(元|\d{1,2})\s*年度")
_LETTER_YEAR = re.compile(r"(?<![A-Za-z])([RH])\s*(\d{1,2})(?!\d)")


def era_to_western(era: str, year: str | int) -> int:
    """``("令和", "元") -> 2019``; ``("平成", 30) -> 2018``; ``ValueError`` for an unknown era."""
    era = ERA_LETTERS.get(era.upper(), era) if len(era) == 1 else era
    if era not in ERA_OFFSETS:
        raise ValueError(f"unknown era {era!r}")
    number = 1 if year == "元" else int(unicodedata.normalize("NFKC", str(year)))
    if number < 1:
        raise ValueError(f"era year must be 1 or more, not {number}")
    return ERA_OFFSETS[era] + number


def western_to_era_label(year: int) -> str:
    """``2020 -> "令和2年度"``, ``2019 -> "令和元年度"``, ``2018 -> "平成30年度"``."""
    if year >= 2019:
        number = year - ERA_OFFSETS["令和"]
        return "令和元年度" if number == 1 else f"令和{number}年度"
    if year >= 1989:
        number = year - ERA_OFFSETS["平成"]
        return "平成元年度" if number == 1 else f"平成{number}年度"
    return f"{year}年度"


def fiscal_years_in(text: str) -> list[int]:
    """Western years of every ``令和N年度`` / ``平成N年度`` in ``text``, in order of appearance.

    Only 年度 counts: a date such as 令和3年3月 falls in fiscal year 2020, not 2021, so a bare
    era year says nothing reliable about the fiscal year.
    """
    normalized = unicodedata.normalize("NFKC", text)
    years = []
    for match in _ERA_FISCAL_YEAR.finditer(normalized):
        with contextlib.suppress(ValueError):  # 令和0年度 names no year
            years.append(era_to_western(match.group(1), match.group(2)))
    return years


def parse_era_year(text: str) -> int | None:
    """The Western year of a whole era expression: ``令和2年度``, ``令和２年``, ``R2``, ``H30``.

    Returns None when ``text`` is not exactly one such expression.
    """
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = _ERA_YEAR.fullmatch(normalized) or _LETTER_YEAR.fullmatch(normalized.upper())
    if match is None:
        return None
    try:
        return era_to_western(match.group(1), match.group(2))
    except ValueError:
        return None  # R0, 令和0年度
