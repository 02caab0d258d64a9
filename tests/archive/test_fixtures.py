"""The reader on the hand-written FY2019 and FY2021 reports (see tests/fixtures/README.md)."""

from __future__ import annotations

from archive.decode import decode_document
from archive.parse import ParsedReport, parse_report
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"


def _read(name: str) -> ParsedReport:
    return parse_report(decode_document((FIXTURES / name).read_bytes()).text)


def test_fy2019() -> None:
    report = _read("hitachi-action-plan-fy2019.txt")
    assert report.fiscal_year == 2019
    assert report.municipality == "日立市"
    by_number = {m.number: m for m in report.measures}
    assert len(by_number) == 12
    assert by_number["01"].title == "SNSを活用した市長による情報発信"
    assert by_number["10"].title == "RPAの拡充"
    assert by_number["09"].title == "タブレット端末の活用"
    assert by_number["07"].departments == ("政策企画課", "行政改革推進課")
    assert by_number["02"].departments_others is True
    twelve = by_number["12"]
    assert twelve.carry_over is not None
    assert (twelve.carry_over.status, twelve.carry_over.fiscal_year) == ("完了", None)
    assert "台風" in by_number["03"].achievement  # joined across the line wrap


def test_fy2021_in_both_encodings_reads_the_same() -> None:
    utf8 = _read("hitachi-action-plan-fy2021.txt")
    cp932 = _read("hitachi-action-plan-fy2021-cp932-crlf.txt")
    assert utf8.measures == cp932.measures
    assert utf8.fiscal_year == cp932.fiscal_year == 2021
    by_number = {m.number: m for m in utf8.measures}
    assert by_number["11"].title == "市役所窓口へのキャッシュレス決済の導入"
    assert by_number["11"].departments == ("市民課", "税務課")
    assert by_number["11"].departments_others is True
    assert all(m.carry_over and m.carry_over.fiscal_year == 2022 for m in utf8.measures)
    assert "- 2 -" not in by_number["03"].achievement
    assert "高齢者向け行政番組" not in {m.title for m in utf8.measures}
