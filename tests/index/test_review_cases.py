"""Cases a review of the search found, each checked against a brute-force reading of the
store: normalise every field the way the analysis does and look for the term."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.queries import document_ids, index_rows
from index import derived
from index.analysis import is_word, normalize_text
from index.query import QuerySyntaxError, parse_query, read_synonyms, synonym_table
from index.search import Searcher, SearchOptions
from index.writing import check, current_dir, repair
from tests.conftest import ROOT
from tests.index.conftest import Archive

FIXTURES = ROOT / "tests" / "fixtures"


def _brute_force(archive: Archive, term: str) -> set[str]:
    """Keys of the measures whose normalised text holds ``term`` as a whole (by hand)."""
    needle = normalize_text(term)
    found = set()
    with archive.reader() as db:
        for row in index_rows(db, document_ids(db)):
            for value in row.fields.values():
                text = normalize_text(value)
                start = text.find(needle)
                while start >= 0:
                    end = start + len(needle)
                    cut_before = start > 0 and is_word(text[start - 1]) and is_word(text[start])
                    cut_after = end < len(text) and is_word(text[end - 1]) and is_word(text[end])
                    if not (cut_before or cut_after):
                        found.add(row.key)
                        break
                    start = text.find(needle, start + 1)
    return found


@pytest.fixture
def three_years(archive: Archive, sample_bytes: bytes) -> Archive:
    archive.ingest((FIXTURES / "hitachi-action-plan-fy2019.txt").read_bytes())
    archive.ingest(sample_bytes)
    archive.ingest((FIXTURES / "hitachi-action-plan-fy2021.txt").read_bytes())
    return archive


@pytest.mark.parametrize("term", ["市(区", "課、行", "務（人", "2 2", "市", "データ", "lan", "年1"])
def test_counts_equal_a_brute_force_reading(three_years: Archive, term: str) -> None:
    results = three_years.searcher().search(f'"{term}"', SearchOptions(limit=100))
    assert {hit.key for hit in results.hits} == _brute_force(three_years, term)


def test_half_width_katakana_and_separate_voicing_marks(three_years: Archive) -> None:
    searcher = three_years.searcher()
    full = searcher.search("データ").total
    assert full > 0
    assert searcher.search("ﾃﾞｰﾀ").total == full
    assert searcher.search("か\u3099").total == searcher.search("が").total


def test_overlapping_occurrences_are_found(archive: Archive) -> None:
    archive.ingest("日立市 \nNo 01 推進事項 題 \n達成状況 記号 x12 2 2 の件。 [R3継続] \n".encode())
    assert archive.searcher().search('"2 2"').total == 1


def test_words_of_other_scripts_match_whole(archive: Archive) -> None:
    archive.ingest("日立市 \nNo 01 推進事項 題 \n達成状況 αβ線 a_b の件。 [R3継続] \n".encode())
    searcher = archive.searcher()
    assert (searcher.search("β").total, searcher.search("αβ").total) == (0, 1)
    assert (searcher.search("a").total, searcher.search("b").total) == (1, 1)


def test_paging_by_fiscal_year_neither_repeats_nor_drops(three_years: Archive) -> None:
    searcher = three_years.searcher()
    for sort in ("fiscalYear", "-fiscalYear"):
        hits = []
        for offset in range(0, 36, 3):
            options = SearchOptions(sort=sort, offset=offset, limit=3)
            hits += searcher.search("fiscalYear:2019..2021", options).hits
        keys = [hit.key for hit in hits]
        assert len(keys) == len(set(keys)) == 36
        years = [hit.fiscal_year for hit in hits]
        assert years == sorted(years, reverse=sort == "-fiscalYear")


def test_searches_never_fail_while_reports_are_ingested(archive: Archive, sample_text: str) -> None:
    """Four threads share one searcher while the same report is replaced six times."""
    archive.ingest(sample_text.encode())
    searcher = archive.searcher()
    errors: list[BaseException] = []
    totals: set[int] = set()
    stop = threading.Event()

    def search_loop() -> None:
        while not stop.is_set():
            try:
                totals.add(searcher.search("市民").total)
            except BaseException as error:  # the assertion below reports it
                errors.append(error)

    threads = [threading.Thread(target=search_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for round_number in range(6):
            title = "市民向け情報発信" if round_number % 2 else "職員向け情報発信"
            archive.ingest(sample_text.replace("高齢者向け行政番組", title).encode())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert totals <= {4, 5}  # before or after each ingest: 市民 in the changed title or not


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("suffix", "damage"),
    [
        (".pst", _truncate),  # postings
        (".trm", Path.unlink),  # the term table
        ("._stored.col", _truncate),  # stored values
        ("._all_len.col", _garble),  # field lengths, one byte changed
    ],
)
def test_a_damaged_whoosh_segment_is_reported_and_rebuilt(
    three_years: Archive, suffix: str, damage: Callable[[Path], object]
) -> None:
    folder = current_dir(three_years.index_dir)
    assert folder is not None
    damage(next(folder.glob(f"MAIN_*{suffix}")))
    found = check(three_years.reader, three_years.index_dir)
    assert found.damaged
    repair(three_years.reader, three_years.index_dir)
    assert check(three_years.reader, three_years.index_dir).consistent
    assert three_years.searcher().search("市民").total == 12


@pytest.mark.parametrize("damage", [_truncate, Path.unlink])
def test_lost_derived_arrays_are_derived_again_from_whoosh(
    three_years: Archive, damage: Callable[[Path], object]
) -> None:
    """Searches check each derived file's size and shape (not its checksum, which costs a
    read of the whole file) and derive it again from Whoosh when it does not fit."""
    folder = current_dir(three_years.index_dir)
    assert folder is not None
    for path in folder.glob("MAIN_*.derived"):
        damage(path)
    assert Searcher(three_years.index_dir).search("市民").total == 12
    assert check(three_years.reader, three_years.index_dir).consistent


def test_check_finds_a_changed_byte_in_derived_arrays(three_years: Archive) -> None:
    folder = current_dir(three_years.index_dir)
    assert folder is not None
    paths = sorted(folder.glob("MAIN_*.derived"))
    before = [path.read_bytes() for path in paths]
    for path in paths:
        _garble(path)
    assert check(three_years.reader, three_years.index_dir).consistent  # derived again …
    assert [path.read_bytes() for path in paths] == before  # … to what was written
    assert Searcher(three_years.index_dir).search("市民").total == 12


def test_synonyms_are_symmetric_and_transitive() -> None:
    table = synonym_table([("スマホ", "スマートフォン"), *read_synonyms('スマホ, "携帯"\n')])
    assert (
        set(table["携帯"]) == set(table["スマートフォン"]) == {"スマホ", "スマートフォン", "携帯"}
    )


@pytest.mark.parametrize("query", ["department: 秘書課", "title:"])
def test_a_field_without_a_value_is_an_error(query: str) -> None:
    with pytest.raises(QuerySyntaxError, match="needs a value"):
        parse_query(query)


def test_a_typed_separator_does_not_join_two_fields(three_years: Archive) -> None:
    """No exact match runs across two fields (word matches, which take their words from
    anywhere in the measure, may: 充実 and sns both occur)."""
    searcher = three_years.searcher()
    assert searcher.search("充実\u241esnsを", SearchOptions(exact_only=True)).total == 0
    assert searcher.search("充実\u241esnsを").exact_total == 0


def test_check_finds_derived_arrays_that_disagree_with_whoosh(three_years: Archive) -> None:
    """Derived arrays whole and well formed, but holding other text than Whoosh stores
    (what a bug in a merge would write): check reports it, and repair rebuilds."""
    folder = current_dir(three_years.index_dir)
    assert folder is not None
    path = next(folder.glob("MAIN_*.derived"))
    segment_id = path.name.removesuffix(derived.SUFFIX)
    data = derived.load(folder, segment_id)
    shifted = derived.DOCUMENT_SEPARATOR + data.text[:-1]  # every entry one character off
    derived.write(folder, segment_id, dataclasses.replace(data, text=shifted))
    assert check(three_years.reader, three_years.index_dir).damaged
    repair(three_years.reader, three_years.index_dir)
    assert check(three_years.reader, three_years.index_dir).consistent
    assert three_years.searcher().search("市民").total == 12
