"""Search on a real index of the sample: exact matches, syntax, facets, order, highlights."""

from __future__ import annotations

import pytest

from index.highlights import highlight
from index.query import QuerySyntaxError
from index.search import SearchOptions, SearchTimeout
from tests import variants
from tests.index.conftest import Archive


@pytest.fixture
def sample(archive: Archive, sample_bytes: bytes, sample_text: str) -> Archive:
    archive.ingest(sample_bytes)
    archive.ingest(variants.added_measure(sample_text), fiscal_year=2021)
    return archive


def _numbers(archive: Archive, query: str, **options: object) -> list[tuple[int, str | None]]:
    results = archive.searcher().search(query, SearchOptions(limit=100, **options))  # type: ignore[arg-type]
    assert results.total == len(results.hits)
    return sorted((hit.fiscal_year, hit.number) for hit in results.hits)


def both(*numbers: str) -> list[tuple[int, str | None]]:
    return sorted((year, n) for year in (2020, 2021) for n in numbers)


def test_a_word_split_by_a_line_wrap_is_found(sample: Archive) -> None:
    assert _numbers(sample, "人事評価") == both("09")


def test_full_and_half_width_find_each_other(sample: Archive) -> None:
    assert _numbers(sample, "１２回") == _numbers(sample, "12回") == both("05")
    assert _numbers(sample, "Ｗｉ－Ｆｉ") == _numbers(sample, "wifi") == both("06")


def test_numbers_with_commas(sample: Archive) -> None:
    assert _numbers(sample, "11,050") == _numbers(sample, "11050") == both("02")


def test_a_latin_word_matches_whole(sample: Archive) -> None:
    assert _numbers(sample, "LAN") == both("06")
    assert _numbers(sample, "AN") == []


def test_one_character_finds_every_occurrence(sample: Archive) -> None:
    # 災 occurs inside 防災, 災害 and 被災: in bigrams and as the last character of runs.
    assert _numbers(sample, "災") == both("02", "06")


def test_and_or_not_and_phrases(sample: Archive) -> None:
    assert _numbers(sample, "タブレット 高齢者") == both("05")
    assert _numbers(sample, "タブレット -高齢者") == both("10")
    assert _numbers(sample, "RPA OR 人事評価 OR 避難所") == both("06", "07", "09")
    assert _numbers(sample, '"公衆無線LAN"') == both("06")


def test_and_is_syntax_not_a_word(sample: Archive) -> None:
    """`A AND B` finds what `A B` finds (#18); AND is not searched for, so a measure need
    not contain the word; quoted, "AND" is a term again."""
    assert _numbers(sample, "タブレット AND 高齢者") == _numbers(sample, "タブレット 高齢者")
    assert _numbers(sample, "タブレット AND 高齢者") == both("05")
    assert _numbers(sample, "RPA OR 人事評価 AND 避難所") == _numbers(
        sample, "RPA OR 人事評価 避難所"
    )
    assert _numbers(sample, 'タブレット "AND"') == []


def test_field_filters(sample: Archive) -> None:
    assert _numbers(sample, "SNS title:市長") == both("01")
    assert _numbers(sample, "department:政策企画課") == both("07", "08")
    assert _numbers(sample, "市民課 fiscalYear:2021") == [(2021, "13")]
    assert _numbers(sample, "オープンデータ fiscalYear:2019..2020") == [(2020, "07"), (2020, "11")]


def test_era_forms_match_text_or_year(sample: Archive) -> None:
    # 令和3年度 is printed in no measure, so it finds the measures of fiscal year 2021.
    assert _numbers(sample, "令和3年度") == [(2021, f"{n:02d}") for n in range(1, 14)]
    assert _numbers(sample, "R3 オンライン") == [(2021, "13")]


def test_synonyms(sample: Archive) -> None:
    assert _numbers(sample, "スマホ") == _numbers(sample, "スマートフォン")
    assert _numbers(sample, "Facebook") == both("03")


def test_what_must_find_nothing(sample: Archive) -> None:
    for query in ("地震", "市民サービス 地震", "planning", "令和和", "RPA -業務"):
        assert _numbers(sample, query) == [], query


def test_filters_from_the_caller(sample: Archive) -> None:
    assert _numbers(sample, "RPA", fiscal_years=[2021]) == [(2021, "09")]
    assert _numbers(sample, "市民", departments=["秘書課"]) == both("01")


def test_facets_count_the_whole_result(sample: Archive) -> None:
    results = sample.searcher().search("市民", SearchOptions(limit=1))
    assert len(results.hits) == 1
    assert {f.value: f.count for f in results.fiscal_years} == {"2020": 4, "2021": 5}
    assert sum(f.count for f in results.departments) >= results.total


def test_title_matches_rank_first(sample: Archive) -> None:
    hits = sample.searcher().search("タブレット", SearchOptions(fiscal_years=[2020])).hits
    assert [h.number for h in hits] == ["05", "10"] or [h.number for h in hits] == ["10", "05"]
    assert all(h.score > 0 for h in hits)
    titles = sample.searcher().search("オープンデータ", SearchOptions(fiscal_years=[2020])).hits
    assert titles[0].number == "07"  # the only one with it in its title


def test_sort_by_fiscal_year(sample: Archive) -> None:
    hits = sample.searcher().search("RPA", SearchOptions(sort="-fiscalYear")).hits
    assert [h.fiscal_year for h in hits] == [2021, 2020]


@pytest.mark.parametrize(
    "query",
    [
        '"open',
        "OR 市民",
        "市民 OR",
        "-市民",
        "x" * 257,
        "fiscalYear:abc",
        "***",
        "tag:xyz",
        "tag:",
        "AND 市民",
        "市民 AND",
        "市民 AND OR 防災",
        "市民 OR AND 防災",
    ],
)
def test_bad_syntax_is_one_clear_error(sample: Archive, query: str) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        sample.searcher().search(query)
    assert "\n" not in str(raised.value)


def test_wildcards_are_not_syntax(sample: Archive) -> None:
    assert _numbers(sample, "人事*") == _numbers(sample, "人事")


def test_highlights_are_plain_text_with_the_offsets_of_matches() -> None:
    fields = {"title": "公衆無線 LAN（Ｗｉ－Ｆｉ）<整備>", "description": "関係なし"}
    [found] = highlight(fields, ["wifi", "lan"])
    [fragment] = found.fragments
    assert fragment.text == "公衆無線 LAN（Ｗｉ－Ｆｉ）<整備>"
    assert [fragment.text[start:end] for start, end in fragment.marks] == ["LAN", "Ｗｉ－Ｆｉ"]
    assert list(fragment.pieces())[:2] == [("公衆無線 ", False), ("LAN", True)]


def test_a_cut_fragment_keeps_its_offsets() -> None:
    text = "あ" * 200 + "人事\n評価" + "い" * 200
    [fragment] = highlight({"achievement": text}, ["人事評価"])[0].fragments
    [(start, end)] = fragment.marks
    assert fragment.text[start:end] == "人事 評価"


def test_search_time_is_capped(sample: Archive) -> None:
    with pytest.raises(SearchTimeout):
        sample.searcher().search("市民", SearchOptions(timeout=0))


def test_a_document_without_structure_is_searched_whole(archive: Archive) -> None:
    archive.ingest("日立市からのお知らせ \n令和２年度は防災訓練を行う。 \n".encode())
    results = archive.searcher().search("防災訓練")
    assert [(hit.kind, hit.number) for hit in results.hits] == [("document", None)]
    assert archive.searcher().search("防災訓練", SearchOptions(kinds=("measure",))).total == 0
