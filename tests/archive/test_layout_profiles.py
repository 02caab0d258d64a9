"""Layout profiles (#16 point 3): the families besides Hitachi's, on fixtures written in their
style (tests/fixtures/layouts/README.md), and how a profile is picked.

The expected values were read off the fixture texts by hand: they are the specification.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from archive.decode import decode_document
from archive.layouts import LAYOUTS, UnknownLayout
from archive.parse import CarryOver, ParsedMeasure, ParsedReport, parse_report
from tests.conftest import ROOT, SAMPLE

LAYOUT_FIXTURES = ROOT / "tests" / "fixtures" / "layouts"
EVALUATION = LAYOUT_FIXTURES / "evaluation-sheet-fy2020.txt"
PROGRESS = LAYOUT_FIXTURES / "progress-list-fy2021.txt"
DX = LAYOUT_FIXTURES / "progress-list-dx-fy2020.txt"


def _text(path: Path) -> str:
    return decode_document(path.read_bytes()).text


def _read(path: Path, layout: str | None = None) -> ParsedReport:
    return parse_report(_text(path), layout)


def _status(measure: ParsedMeasure) -> tuple[str, int | None] | None:
    carry = measure.carry_over
    return None if carry is None else (carry.status, carry.fiscal_year)


# number, pillar, title, departments, others (外), grade, next-year status
EVALUATION_MEASURES = [
    ("001", 1, "防災行政無線のデジタル化", ("防災課",), False, "A", ("継続", 2021)),
    ("002", 1, "自主防災組織の育成支援", ("防災課", "地域振興課"), False, "B", ("見直し", 2021)),
    ("003", 1, "防犯カメラの設置補助", ("生活安全課",), False, "S", ("拡充", 2021)),
    ("004", 2, "病児・病後児保育事業", ("子育て支援課", "保育課"), True, "○", ("継続", 2021)),
    ("005", 2, "放課後子ども教室の運営", ("生涯学習課",), False, "△", ("縮小", 2021)),
]


def test_evaluation_sheet_measures() -> None:
    report = _read(EVALUATION)
    assert (report.layout, report.fiscal_year, report.municipality) == (
        "evaluation-sheet",
        2020,
        "三鷹市",
    )
    assert [(p.number, p.title) for p in report.pillars] == [
        (1, "安全で安心して暮らせるまちづくり"),
        (2, "子育て世代が住み続けたいまちづくり"),  # glued after 次年度の方向性 拡充
    ]
    got = [
        (
            m.number,
            m.pillar_number,
            m.title,
            m.departments,
            m.departments_others,
            m.grade,
            _status(m),
        )
        for m in report.measures
    ]
    assert got == EVALUATION_MEASURES


def test_evaluation_sheet_texts() -> None:
    by_number = {m.number: m for m in _read(EVALUATION).measures}
    first, second, fifth = by_number["001"], by_number["002"], by_number["005"]
    # An indented paragraph wrapped mid-word, its two lines joined.
    assert first.description == (
        "老朽化した同報系防災行政無線をデジタル方式に更新し、災害時における情報伝達の確実性を高める。"
    )
    assert first.achievement == (
        "屋外拡声子局２０局の更新工事を完了した。\n戸別受信機を要配慮者世帯へ１，２００台配布した。"
    )
    # A colon after the label, a note in brackets (実績（令和２年度）), text on the label line.
    assert second.description.endswith("地域の防災力の向上を図る。")
    assert second.achievement.startswith("補助件数 ３２件（前年度比 ４件増）\n新型コロナ")
    # The next-year value on the line after its label, a reason in brackets after it.
    assert second.carry_over == CarryOver("見直し", "見直し", 2021)
    # 【No. 005】 alone on its line, the title under the 事務事業名 label.
    assert fifth.title == "放課後子ども教室の運営"
    assert fifth.achievement == "開設校数 １５校、延べ参加人数 約２万１千人"


def test_evaluation_sheet_provenance() -> None:
    text = _text(EVALUATION)
    raw = text.split("\n")
    first = _read(EVALUATION).measures[0]
    assert first.provenance == {
        "title": (9, 9),
        "departments": (11, 11),
        "description": (15, 16),
        "achievement": (20, 22),
        "grade": (24, 24),
        "carry_over": (24, 24),
    }
    assert raw[24 - 1].startswith("評価 Ａ 次年度の方向性 継続")
    _provenance_holds(_read(EVALUATION), raw)


PROGRESS_MEASURES = [
    # number, pillar, title, departments, grade, next-year
    ("R3-1", 1, "窓口のワンストップ化", ("市民課",), "○", ("継続", 2022)),
    ("R3-2", 1, "証明書のコンビニ交付の拡大", ("市民課", "情報政策課"), "◎", None),
    ("R3-3", 1, "窓口混雑状況の発信", ("市民課",), "△", ("見直し", 2022)),
    ("R3-4", 1, "職員の働き方改革の推進", ("人事課",), None, None),
    ("R3-5", 2, "使用料・手数料の見直し", ("財政課",), "×", ("継続", 2022)),
]


def test_progress_list_measures() -> None:
    report = _read(PROGRESS)
    assert (report.layout, report.fiscal_year, report.municipality) == (
        "progress-list",
        2021,
        "水戸市",
    )
    # 基本方針Ⅱ is glued to the end of No.R3-4's last line.
    assert [(p.number, p.title) for p in report.pillars] == [
        (1, "市民サービスの向上"),
        (2, "効率的な行財政運営"),
    ]
    got = [
        (m.number, m.pillar_number, m.title, m.departments, m.grade, _status(m))
        for m in report.measures
    ]
    assert got == PROGRESS_MEASURES
    by_number = {m.number: m for m in report.measures}
    # No．Ｒ３－４ (full width) is R3-4; the glued heading is not part of its achievement.
    assert by_number["R3-4"].achievement == (
        "時間外勤務時間 前年度比 ８．６％減\nテレワーク実施職員数 延べ ６２０人"
    )
    assert by_number["R3-1"].description.startswith("転入・転出等に伴う手続を一つの窓口で")
    assert by_number["R3-1"].description.endswith("申請書の記載事項を統一する。")


def test_progress_list_departments_and_provenance() -> None:
    raw = _text(PROGRESS).split("\n")
    by_number = {m.number: m for m in _read(PROGRESS).measures}
    # From the header 担当課：市民課 above the measure: provenance names the header's line.
    header = by_number["R3-1"].provenance["departments"]
    assert raw[header[0] - 1].strip() == "担当課：市民課"
    # From the brackets after the title: provenance names the title's line.
    bracket = by_number["R3-2"]
    assert bracket.provenance["departments"] == bracket.provenance["title"]
    assert "（市民課、情報政策課）" in raw[bracket.provenance["title"][0] - 1]
    _provenance_holds(_read(PROGRESS), raw)


def test_progress_list_with_codes() -> None:
    report = _read(DX)
    assert (report.layout, report.fiscal_year, report.municipality) == (
        "progress-list",
        2020,
        "つくば市",
    )
    assert [(p.number, p.title) for p in report.pillars] == [
        (1, "行政手続のオンライン化"),
        (2, "データの利活用"),
    ]
    got = [(m.number, m.pillar_number, m.title, m.departments, m.grade) for m in report.measures]
    assert got == [
        # ０１０１ － ０１: full-width, spaced; the department from 【担当：情報政策課】
        ("0101-01", 1, "電子申請システムの導入", ("情報政策課",), "達成"),
        # brackets after the title win over the header
        ("0101-02", 1, "キャッシュレス決済の導入", ("会計課", "市民課"), "概ね達成"),
        ("0201-01", 2, "オープンデータの公開拡大", ("情報政策課",), "未達成"),
    ]
    assert all(m.carry_over is None for m in report.measures)  # no next-year column printed
    _provenance_holds(report, _text(DX).split("\n"))


def _provenance_holds(report: ParsedReport, raw: list[str]) -> None:
    """Each field's text starts on the first raw line its provenance names, and the grade
    and next-year value stand in the lines named."""

    def lines(span: tuple[int, int]) -> str:
        return unicodedata.normalize("NFKC", "".join(raw[span[0] - 1 : span[1]]))

    for measure in report.measures:
        spans = measure.provenance
        for name in ("description", "achievement"):
            value = getattr(measure, name)
            assert value[:6] in raw[spans[name][0] - 1], (measure.number, name)
        assert measure.title[:6] in raw[spans["title"][0] - 1]
        assert measure.departments[0] in raw[spans["departments"][0] - 1]
        if measure.grade is not None:
            assert measure.grade in lines(spans["grade"]).replace("〇", "○")
        if measure.carry_over is not None:
            assert measure.carry_over.status in lines(spans["carry_over"])
        # Every field but departments (a header above may name them) lies within the measure.
        inside = [span for name, span in spans.items() if name != "departments"]
        assert measure.first <= min(s[0] for s in inside)
        assert max(s[1] for s in inside) <= measure.last


def test_the_hitachi_sample_reads_as_hitachi() -> None:
    text = SAMPLE.read_text("utf-8")
    best = parse_report(text)
    assert (best.layout, len(best.measures)) == ("hitachi", 12)
    assert parse_report(text, "hitachi") == best
    assert all(m.grade is None for m in best.measures)


@pytest.mark.parametrize(
    ("path", "layout"), [(SAMPLE, "evaluation-sheet"), (EVALUATION, "hitachi"), (DX, "hitachi")]
)
def test_a_named_layout_that_does_not_fit_reads_no_measures(path: Path, layout: str) -> None:
    report = _read(path, layout)
    assert (report.measures, report.layout) == ((), None)
    assert report.text  # the text is still there, to be archived without structure


def test_an_unknown_layout_names_the_known_ones() -> None:
    with pytest.raises(
        UnknownLayout, match="known layouts: hitachi, evaluation-sheet, progress-list"
    ):
        parse_report("No 01 推進事項 題", "nope")
    assert list(LAYOUTS) == ["hitachi", "evaluation-sheet", "progress-list"]


def test_no_measures_means_no_layout() -> None:
    assert parse_report("三鷹市 お知らせ 令和２年度 \n").layout is None


EVALUATION_ONE = "【No. 7】事務事業名 題 \n所管課 総務課 \n事業概要 内容。 \n"


def test_a_label_needs_a_separator() -> None:
    text = EVALUATION_ONE + "実績値は前年並みであった。 \n"
    measure = parse_report(text).measures[0]
    # 実績値… is text of 事業概要, not the label 実績.
    assert (measure.description, measure.achievement) == (
        "内容。\n実績値は前年並みであった。",
        "",
    )


@pytest.mark.parametrize(
    ("line", "grade"),
    [("評価 Ｂ", "B"), ("評価：◯", "○"), ("総合評価 ×（未実施）", "×"), ("評価 良好", None)],
)
def test_grade_spellings(line: str, grade: str | None) -> None:
    measure = parse_report(EVALUATION_ONE + line + " \n").measures[0]
    assert (measure.number, measure.grade) == ("7", grade)


def test_a_page_header_inside_a_measure_is_not_its_text() -> None:
    text = (
        "担当課：市民課 \nNo.R2-1 題 \n取組内容 内容の前半。 \n- 2 - \n担当課：市民課 \n"
        "内容の後半。 \n担当課：税務課 \nNo.R2-2 次の題 \n取組実績 実施した。 \n"
    )
    first, second = parse_report(text).measures
    assert first.description == "内容の前半。\n内容の後半。"
    assert (first.departments, second.departments) == (("市民課",), ("税務課",))


def test_a_tie_goes_to_the_earlier_profile() -> None:
    # Read alike by no profile but Hitachi's: the fit is measures, then filled fields.
    text = "No 01 推進事項 題 \n担当部課所 秘書課 \n達成状況 実施した。 \n"
    assert parse_report(text).layout == "hitachi"


def test_a_department_line_inside_a_measure_without_a_header_is_its_label() -> None:
    text = "No.R2-1 題 \n所管課：財政課 \n取組実績 実施した。 \nNo.R2-2 次の題 \n所管課 税務課 \n"
    first, second = parse_report(text).measures
    assert (first.departments, second.departments) == (("財政課",), ("税務課",))
    assert first.provenance["departments"] == (2, 2)


def test_a_line_that_only_looks_like_a_code_is_not_a_measure() -> None:
    text = "三鷹市 お知らせ 令和２年度 \n2021-04 開始の事業について \n詳細は別紙 \n"
    report = parse_report(text)
    assert (report.measures, report.layout) == ((), None)
    assert len(parse_report(text, "progress-list").measures) == 1  # when told, it is one
