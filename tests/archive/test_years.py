"""Fiscal years in every written form, and the rule for a report's own year (archive.years)."""

from __future__ import annotations

import pytest

from archive.parse import parse_report
from archive.years import counted_year, fiscal_years, report_year, stated_years


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("令和2年度", [2020]),
        ("令和元年度", [2019]),
        ("令和２年度", [2020]),  # full-width digits
        ("平成30年度と平成元年度", [2018, 1989]),
        ("昭和63年度", [1988]),
        ("R3年度、H30年度", [2021, 2018]),
        ("2010年度", [2010]),
        ("２０２０年度", [2020]),  # full-width Western year
        ("令和2（2020）年度", [2020]),  # both forms, one mention
        ("2020（令和2）年度", [2020]),
        ("令和3年3月末時点", []),  # a date is no fiscal year
        ("令和0年度", []),
        ("計画期間 令和2年度～令和6年度", []),  # a plan period names no single year
        ("2020～2024年度", []),
        ("2021年度から2025年度まで", []),
        ("令和2～6年度", []),
        ("BR3年度", []),  # R3 inside a Latin word
    ],
)
def test_every_form_of_a_fiscal_year(text: str, years: list[int]) -> None:
    assert fiscal_years(text) == years


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("令和2年度の実績", [2020]),
        ("令和２年度実施状況", [2020]),
        ("2019年度の取組状況は次のとおり", [2019]),
        ("対象年度：2020年度", [2020]),
        ("評価対象年度 令和元年度", [2019]),
        ("令和3年度の予定", []),
        ("令和3年度に実施する", []),
    ],
)
def test_statements_of_the_reports_own_year(text: str, years: list[int]) -> None:
    assert stated_years(text) == years


def _year(title: str, opening: str = "", rest: str = "", tags: tuple[int, ...] = ()) -> int | None:
    text = "\n".join([title, opening, rest])
    return report_year(title, opening, text, tags)[0]


def test_the_title_comes_first() -> None:
    assert _year("日立市 2010年度 実績報告", "令和2年度の実績", tags=(2020,)) == 2010
    assert _year("２０２０年度 日立市 事務事業評価") == 2020
    assert _year("計画（令和２年度～令和６年度）令和４年度実績") == 2022
    # a year the title states as the report's beats an earlier one
    assert _year("令和元年度策定計画 令和3年度の取組状況") == 2021


def test_an_explicit_statement_in_the_opening_beats_tags_and_counts() -> None:
    rest = "令和3年度 令和3年度 令和3年度"
    assert _year("行財政改革 進捗状況", "対象年度：2020年度", rest, tags=(2022,)) == 2020
    assert _year("行財政改革 進捗状況", "令和２年度の実績を取りまとめた。", rest) == 2020


def test_tags_beat_counts() -> None:
    assert _year("アクションプラン", "", "令和5年度 令和5年度", tags=(2021, 2021, 2020)) == 2021


def test_the_count_decides_without_title_statement_or_tags() -> None:
    assert counted_year("令和2年度 令和2年度 令和3年度") == 2020
    assert counted_year("まだ年度のない文") is None


def test_a_tie_goes_to_the_latest_year_before_the_one_called_next_years() -> None:
    # 2020 and 2021 twice each, 2022 called next year's: 2021, the year before it.
    text = "令和2年度 令和2年度 令和3年度 令和3年度 次年度（令和4年度）に継続"
    assert counted_year(text) == 2021
    # 2021 itself is called next year's: it is not counted, and 2020 wins.
    text = "令和2年度 令和2年度 令和3年度 令和3年度（次年度）"
    assert counted_year(text) == 2020
    # a tie where a later tied year comes after the next year's: the one before it wins
    text = "2019年度 2019年度 2023年度 2023年度 翌年度（2020年度）"
    assert counted_year(text) == 2019


def test_a_tie_without_a_next_year_goes_to_the_latest_not_the_first() -> None:
    assert counted_year("令和2年度 令和元年度 令和元年度 令和2年度") == 2020
    assert counted_year("2018年度 2020年度") == 2020


def test_parse_report_uses_the_rule() -> None:
    report = parse_report("行財政改革の取組 \n対象年度：２０２０年度 \n令和３年度 令和３年度 ")
    assert (report.fiscal_year, report.fiscal_year_evidence) == (
        2020,
        "a statement in the opening lines",
    )
    assert parse_report("日立市 DX推進計画 2010年度実績 \n").fiscal_year == 2010


def test_target_years_are_not_counted() -> None:
    assert counted_year("令和2年度 令和7年度目標 令和7年度の目標 目標年度 令和7年度") == 2020
