"""Word matches beside exact ones (#17 point 1), on a real index of the sample report."""

from __future__ import annotations

import pytest

from index.analysis import normalize_text
from index.highlights import highlight
from index.query import Text, parse_query
from index.search import SearchOptions
from index.words import content_words, query_words
from schema.highlights import html_fragments
from tests.index.conftest import Archive


@pytest.fixture
def sample(archive: Archive, sample_bytes: bytes) -> Archive:
    archive.ingest(sample_bytes)
    return archive


def _found(archive: Archive, query: str, **options: object) -> list[tuple[str | None, str]]:
    results = archive.searcher().search(query, SearchOptions(limit=100, **options))  # type: ignore[arg-type]
    assert results.total == len(results.hits)
    return [(hit.number, hit.matched_by) for hit in results.hits]


@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("防災情報", ("防災", "情報")),
        ("市民参加", ("市民", "参加")),
        ("Wi-Fiの整備", ("wifi", "整備")),
        # numbers, era forms and single characters are never words of their own
        ("令和2年度", ()),
        ("R2年度", ()),
        ("平成30年度の防災", ()),
        ("防災課", ()),
        ("スマートフォン", ()),  # one word: exact only
    ],
)
def test_the_words_of_a_term(term: str, words: tuple[str, ...]) -> None:
    assert query_words(normalize_text(term)) == words


def test_particles_and_auxiliaries_are_not_words() -> None:
    assert content_words(normalize_text("防災に関する情報を市民の参加で")) == [
        "防災",
        "関する",
        "情報",
        "市民",
        "参加",
    ]


def test_quoted_and_title_terms_match_exactly_only() -> None:
    assert parse_query('"地域課題"') == Text("地域課題")
    assert parse_query("title:地域課題") == Text("地域課題", "title")
    assert parse_query("地域課題") == Text("地域課題", None, ("地域", "課題"))


def test_words_apart_are_found_and_say_so(sample: Archive) -> None:
    # No 02: 地域の課題解決を図る
    results = sample.searcher().search("地域課題")
    assert (results.total, results.exact_total) == (1, 0)
    hit = results.hits[0]
    assert (hit.number, hit.matched_by) == ("02", "words")
    assert set(hit.matched) == {"地域", "課題"}
    fields = {
        "description": "画像投稿機能を利用して市民と双方向の情報共有を行うことにより、地域の課題解決を図る。"
    }
    [marked] = highlight(fields, hit.matched)
    assert "<mark>地域</mark>の<mark>課題</mark>" in html_fragments(marked)[0]


def test_exact_only_and_quotes_keep_todays_results(sample: Archive) -> None:
    assert _found(sample, "地域課題", exact_only=True) == []
    assert _found(sample, '"地域課題"') == []
    assert sorted(_found(sample, "情報発信", exact_only=True)) == [
        ("01", "exact"),
        ("02", "exact"),
        ("03", "exact"),
    ]


def test_exact_hits_rank_before_word_hits_and_counts_give_both(sample: Archive) -> None:
    # No 11: 都市計画情報の発信内容の見直し (情報 and 発信, not 情報発信)
    results = sample.searcher().search("情報発信", SearchOptions(limit=100))
    assert [h.matched_by for h in results.hits] == ["exact", "exact", "exact", "words"]
    assert {h.number for h in results.hits[:3]} == {"01", "02", "03"}
    assert results.hits[3].number == "11"
    assert results.hits[3].matched == ("情報", "発信")
    assert (results.total, results.exact_total) == (4, 3)
    [year] = results.fiscal_years
    assert (year.value, year.count, year.exact_count) == ("2020", 4, 3)
    by_department = {f.value: (f.count, f.exact_count) for f in results.departments}
    assert by_department["都市政策課"] == (1, 0)
    assert by_department["秘書課"] == (1, 1)
    for sort in ("fiscalYear", "-fiscalYear"):
        ordered = sample.searcher().search("情報発信", SearchOptions(sort=sort)).hits
        assert [h.matched_by for h in ordered] == ["exact", "exact", "exact", "words"]


def test_era_forms_never_match_by_words(sample: Archive) -> None:
    every = _found(sample, "令和2年度")
    assert every == _found(sample, "令和2年度", exact_only=True)
    assert all(how == "exact" for _, how in every)


def test_an_excluded_term_is_excluded_exactly(sample: Archive) -> None:
    """-term removes the exact matches only, so word matching only ever adds hits."""
    exact = {n for n, _ in _found(sample, "情報 -地域課題", exact_only=True)}
    found = {n for n, _ in _found(sample, "情報 -地域課題")}
    assert "02" in exact
    assert exact <= found


def test_a_word_hit_of_one_term_and_exact_of_another_is_a_word_hit(sample: Archive) -> None:
    found = dict(_found(sample, "地域課題 アプリ"))
    assert found == {"02": "words"}


@pytest.mark.parametrize("sort", ["relevance", "fiscalYear", "-fiscalYear"])
def test_pages_of_exact_then_word_hits_join_up(sample: Archive, sort: str) -> None:
    searcher = sample.searcher()
    whole = [h.key for h in searcher.search("情報 市民", SearchOptions(limit=100, sort=sort)).hits]
    paged = [
        h.key
        for offset in range(0, len(whole), 2)
        for h in searcher.search("情報 市民", SearchOptions(offset=offset, limit=2, sort=sort)).hits
    ]
    assert paged == whole
    everything = searcher.search("情報発信 市民", SearchOptions(limit=100, sort=sort))
    kinds = [h.matched_by for h in everything.hits]
    assert "words" in kinds
    assert kinds == sorted(kinds, key=lambda kind: kind != "exact")
    assert everything.exact_total == kinds.count("exact")


def test_a_long_text_is_read_in_pieces() -> None:
    """Sudachi refuses an input of more than about 49 KB; a document's text is longer."""
    text = normalize_text("防災に関する情報を市民と共有する。" * 5000)  # 85,000 characters
    words = content_words(text)
    assert words.count("防災") == 5000
    assert words.count("共有") == 5000
