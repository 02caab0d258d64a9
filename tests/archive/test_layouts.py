"""Layouts other years and offices print, found by a review of the reader (one case each)."""

from __future__ import annotations

import pytest

from archive.parse import municipality_from_title, parse_report, split_departments

MEASURE = "No 01 推進事項 {title} \n担当部課所 秘書課 \n事業内容 \n内容。 \n達成状況 \n実施した。 [R3継続] \n"


@pytest.mark.parametrize("start", ["No01推進事項", "Ｎｏ．０１ 推進事項", "NO 01 推進事項"])
def test_measure_start_spellings(start: str) -> None:
    report = parse_report(f"{start} 題 \n達成状況 実施した。 [R3継続] ")
    assert [(m.number, m.title) for m in report.measures] == [("01", "題")]


def test_labels_with_colons_and_notes() -> None:
    report = parse_report(
        "No 01 推進事項 題 \n担当部課所：秘書課 \n事業内容：内容。 \n達成状況（令和２年度） \n実施した。 "
    )
    measure = report.measures[0]
    assert (measure.title, measure.departments) == ("題", ("秘書課",))
    assert (measure.description, measure.achievement) == ("内容。", "実施した。")


def test_text_on_the_label_line_may_wrap() -> None:
    text = "No 01 推進事項 題 \n事業内容 SNSを活用し、情報を市\n民等に発信する。 \n達成状況 実施。 \nおわり。 "
    assert parse_report(text).measures[0].description == "SNSを活用し、情報を市民等に発信する。"


def test_others_wrapped_onto_its_own_line() -> None:
    assert split_departments("政策企画課、行政マネジメント課\n外") == (
        ("政策企画課", "行政マネジメント課"),
        True,
    )
    assert split_departments("政策企画課、行政マネジメント課外") == (
        ("政策企画課", "行政マネジメント課"),
        True,
    )


def test_space_separated_departments() -> None:
    assert split_departments("秘書課　広報戦略課") == (("秘書課", "広報戦略課"), False)
    assert split_departments("市民活動課 ボランティア担当") == (
        ("市民活動課 ボランティア担当",),
        False,
    )


def test_tag_beside_the_title() -> None:
    measure = parse_report("No 01 推進事項 題 [新規] \n達成状況 実施した。 ").measures[0]
    assert measure.title == "題"
    assert measure.carry_over is not None
    assert measure.carry_over.status == "新規"


def test_bracket_inside_a_sentence_is_text_not_a_tag() -> None:
    text = "No 01 推進事項 題 \n事業内容 令和元年度の[新規]事業を拡充する。 \n達成状況 実施した。 [R3継続] "
    measure = parse_report(text).measures[0]
    assert measure.description == "令和元年度の[新規]事業を拡充する。"
    assert measure.carry_over is not None
    assert measure.carry_over.tag == "[R3継続]"


@pytest.mark.parametrize(
    "heading", ["２．高齢化社会に対応した情報化の推進", "（２）高齢化社会に対応した情報化の推進"]
)
def test_pillar_heading_spellings(heading: str) -> None:
    text = (
        "１ 一つ目の柱 \n"
        + MEASURE.format(title="一")
        + f"{heading} \n"
        + MEASURE.format(title="二").replace("01", "02")
    )
    report = parse_report(text)
    assert [(p.number, p.title) for p in report.pillars] == [
        (1, "一つ目の柱"),
        (2, "高齢化社会に対応した情報化の推進"),
    ]
    assert report.measures[0].achievement == "実施した。"


def test_a_cross_reference_is_not_a_measure() -> None:
    text = MEASURE.format(title="題").replace("内容。", "本事業は No 02 推進事項 と連携する。")
    report = parse_report(text)
    assert [m.number for m in report.measures] == ["01"]


def test_a_numbered_line_that_skips_a_pillar_number_is_not_a_pillar() -> None:
    text = (
        "１ 柱 \n"
        + MEASURE.format(title="一").replace("実施した。 [R3継続] ", "３ 件数 120件 ")
        + MEASURE.format(title="二").replace("01", "02")
    )
    report = parse_report(text)
    assert [p.number for p in report.pillars] == [1]
    assert report.measures[0].achievement.endswith("３ 件数 120件")


def test_an_impossible_era_year_is_not_a_crash() -> None:
    report = parse_report(
        "日立市 \n" + MEASURE.format(title="題").replace("[R3継続]", "[R0継続]") + "令和0年度"
    )
    assert report.measures[0].carry_over is not None
    assert report.measures[0].carry_over.fiscal_year is None
    assert report.fiscal_year is None


def test_fiscal_year_of_a_title_with_a_plan_period() -> None:
    assert parse_report("日立市計画（令和２年度～令和６年度）令和４年度実績 \n").fiscal_year == 2022


@pytest.mark.parametrize(
    ("title", "municipality"),
    [
        ("令和２年度 日立市情報化推進アクションプラン", "日立市"),
        ("四日市市情報化計画", "四日市市"),
        ("本市の情報化推進", None),
    ],
)
def test_municipality_spellings(title: str, municipality: str | None) -> None:
    assert municipality_from_title(title) == municipality
