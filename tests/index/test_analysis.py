"""Japanese analysis as tokens in, tokens out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.analysis import (
    _normalize_slowly,
    index_terms,
    normalize,
    normalize_text,
    pieces,
    query_terms,
)


def test_cjk_runs_become_overlapping_bigrams() -> None:
    assert query_terms("市民サービス") == ["市民", "民サ", "サー", "ービ", "ビス"]


def test_a_lone_character_is_a_unigram() -> None:
    assert query_terms("市") == ["市"]
    assert query_terms("市 A") == ["市", "a"]


def test_pdf_spaces_inside_japanese_are_dropped_but_latin_words_stay_apart() -> None:
    assert normalize_text("約 53万人") == "約53万人"
    assert normalize_text("公衆無線 LAN") == "公衆無線lan"
    assert normalize_text("open \n  data") == "open data"
    assert query_terms("市民 サービス") == query_terms("市民サービス")


def test_latin_and_digit_runs_are_words() -> None:
    assert query_terms("公衆無線 LAN（Wi-Fi）") == ["公衆", "衆無", "無線", "lan", "wifi"]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("１２回", "12回"),
        ("Ｗｉ－Ｆｉ", "Wi-Fi"),
        ("Wi-Fi", "WiFi"),
        ("11,050ダウンロード", "11050ダウンロード"),
        ("ごみ・リサイクル", "ごみリサイクル"),
        ("café", "cafe"),
        ("ＡＩ－ＯＣＲ", "ai-ocr"),
    ],
)
def test_forms_that_must_find_each_other(left: str, right: str) -> None:
    assert query_terms(left) == query_terms(right)


def test_kana_long_vowel_is_not_a_joiner() -> None:
    assert normalize_text("サービス") == "サービス"


def test_comma_between_words_stays_a_break() -> None:
    assert query_terms("市民、サービス") != query_terms("市民サービス")


def test_index_adds_the_run_final_unigram_at_the_last_position() -> None:
    tokens = [(p.text, p.position) for p in pieces("環境LAN", for_index=True)]
    assert tokens == [("環境", 0), ("境", 0), ("lan", 1)]


def test_offsets_point_into_the_original_text() -> None:
    text = "公衆無線 ＬＡＮ（Wi-Fi）を整備"
    for piece in pieces(text, for_index=True):
        assert normalize_text(text[piece.start : piece.end]) == piece.text


@given(st.text(alphabet="市民サービス推進Wi-Fi１２, ・ーabc", max_size=40))
def test_every_index_token_is_made_of_normalized_text(text: str) -> None:
    normalized = normalize_text(text)
    for piece in pieces(text, for_index=True):
        assert piece.text in normalized
        assert 0 <= piece.start < piece.end <= len(text)


@given(st.text(alphabet="市民サービス推進Wi-Fi１２, ・ーabc環", max_size=40))
def test_index_counts_are_the_index_pieces_counted(text: str) -> None:
    """The indexer's fast counting path gives what ``pieces`` gives, counted."""
    expected: dict[str, int] = {}
    for piece in pieces(text, for_index=True):
        expected[piece.text] = expected.get(piece.text, 0) + 1
    assert index_terms(normalize_text(text)) == expected


TRICKY = "市民サービスー・゛゠々〆〇ヵabcAB１２0,-‐－ー 　\t\néｶﾞ①㈱Ⅻ_/.・"


@given(st.text(alphabet=TRICKY, max_size=30))
def test_fast_normalize_equals_the_offset_keeping_one(text: str) -> None:
    assert normalize_text(text) == normalize(text).text


@given(st.text(max_size=30))
def test_fast_normalize_equals_the_offset_keeping_one_on_any_text(text: str) -> None:
    assert normalize_text(text) == normalize(text).text


@given(st.text(alphabet=TRICKY, max_size=40))
def test_normalize_in_c_equals_normalize_by_character(text: str) -> None:
    assert normalize(text) == _normalize_slowly(text)


@given(st.text(max_size=40))
def test_normalize_in_c_equals_normalize_by_character_on_any_text(text: str) -> None:
    assert normalize(text) == _normalize_slowly(text)
