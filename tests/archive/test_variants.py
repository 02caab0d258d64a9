"""The reader on variants of the sample: what changed is read as changed, the rest as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from archive.decode import decode_document
from archive.parse import ParsedMeasure, ParsedReport, parse_report
from tests import variants


def _read(data: bytes) -> ParsedReport:
    return parse_report(decode_document(data).text)


def _fields(measure: ParsedMeasure) -> tuple[object, ...]:
    return (
        measure.number,
        measure.title,
        measure.departments,
        measure.departments_others,
        measure.description,
        measure.achievement,
        measure.carry_over,
        measure.pillar_number,
    )


def _in_legacy_charset(report: ParsedReport) -> list[tuple[object, ...]]:
    return [
        tuple(variants.legacy_charset(f) if isinstance(f, str) else f for f in _fields(m))
        for m in report.measures
    ]


@pytest.mark.parametrize("variant", [variants.cp932_crlf, variants.euc_jp])
def test_japanese_legacy_encodings_read_like_the_sample(
    sample_text: str, sample_report: ParsedReport, variant: Callable[[str], bytes]
) -> None:
    report = _read(variant(sample_text))
    assert _in_legacy_charset(report) == _in_legacy_charset(sample_report)
    assert report.fiscal_year == 2020
    assert report.municipality == "日立市"


def test_bom_reads_like_the_sample(sample_text: str, sample_report: ParsedReport) -> None:
    report = _read(variants.utf8_bom(sample_text))
    assert [_fields(m) for m in report.measures] == [_fields(m) for m in sample_report.measures]
    assert report.title == sample_report.title


def test_page_numbers_change_nothing_but_line_numbers(
    sample_text: str, sample_report: ParsedReport
) -> None:
    report = _read(variants.page_numbers(sample_text))
    assert [_fields(m) for m in report.measures] == [_fields(m) for m in sample_report.measures]
    assert "- 1 -" not in report.text


def test_half_width_digits(sample_text: str, sample_report: ParsedReport) -> None:
    report = _read(variants.half_width_digits(sample_text))
    assert [(p.number, p.title) for p in report.pillars] == [
        (p.number, p.title) for p in sample_report.pillars
    ]
    by_number = {m.number: m for m in report.measures}
    assert len(by_number) == 12
    assert by_number["01"].achievement.split("\n")[1:] == [
        "1 投稿総数 99件（令和2年度）",
        "2 累計リーチ（延べ閲覧者数） 約 53万人",
    ]
    assert by_number["09"].achievement.count("\n") == 5  # three numbered items, each with its list
    assert report.fiscal_year == 2020


def test_dropped_measure(sample_text: str) -> None:
    report = _read(variants.dropped_measure(sample_text, "05"))
    assert [m.number for m in report.measures] == [
        "01",
        "02",
        "03",
        "04",
        "06",
        "07",
        "08",
        "09",
        "10",
        "11",
        "12",
    ]
    assert report.measures[3].achievement.endswith("番組を放送")


def test_added_measure(sample_text: str) -> None:
    report = _read(variants.added_measure(sample_text))
    added = report.measures[-1]
    assert len(report.measures) == 13
    assert added.number == "13"
    assert added.title == "電子申請サービスの拡充"
    assert added.departments == ("行政マネジメント課", "市民課")
    assert added.description == (
        "市民が窓口に来ることなく手続を行えるよう、オンラインで申請できる手続を拡大し、利便性の向上を図る。"
    )
    assert added.achievement == "子育てや介護に関する 15手続をオンライン化した。"
    assert added.carry_over is not None
    assert (added.carry_over.status, added.carry_over.fiscal_year) == ("新規", None)
    assert added.pillar_number == 5


def test_missing_tag_is_unknown_not_ended(sample_text: str) -> None:
    report = _read(variants.missing_tag(sample_text, "08"))
    by_number = {m.number: m for m in report.measures}
    assert by_number["08"].carry_over is None
    assert by_number["08"].achievement.endswith("基礎データ整理・分析等を実施した。")
    assert by_number["07"].carry_over is not None
    assert by_number["09"].carry_over is not None


def test_department_list_with_others(sample_text: str) -> None:
    report = _read(variants.others_in_department_list(sample_text))
    seven = {m.number: m for m in report.measures}["07"]
    assert seven.departments == ("政策企画課", "行政マネジメント課")
    assert seven.departments_others is True
