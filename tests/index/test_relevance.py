"""Relevance on judged queries over three years of Hitachi reports (FY2019, FY2020, FY2021).

The judgements in ``judged_queries.py`` were made by reading the reports, not by running
the search. Measured on them, the search is exact: every query returns exactly its judged
set. The thresholds below are set just under what was measured, so that a regression in
analysis, matching or ranking fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.search import SearchOptions
from tests.conftest import ROOT, SAMPLE
from tests.index.conftest import Archive
from tests.index.judged_queries import JUDGED

FIXTURES = ROOT / "tests" / "fixtures"
REPORTS = [
    FIXTURES / "hitachi-action-plan-fy2019.txt",
    SAMPLE,
    FIXTURES / "hitachi-action-plan-fy2021-cp932-crlf.txt",
]
RECALL_AT_LEAST = 0.99
MRR_AT_LEAST = 0.95
EXACT_SHARE_AT_LEAST = 0.99  # queries whose result set equals the judged set


@pytest.fixture
def three_years(archive: Archive) -> Archive:
    for path in REPORTS:
        archive.ingest(Path(path).read_bytes(), path.name)
    return archive


def test_there_are_enough_judged_queries() -> None:
    assert len(JUDGED) >= 40
    assert sum(1 for _, expected in JUDGED if not expected) >= 6


def test_recall_mrr_and_exact_counts(three_years: Archive) -> None:
    searcher = three_years.searcher()
    recalls, reciprocal_ranks, exact = [], [], []
    misses = []
    for query, expected in JUDGED:
        results = searcher.search(query, SearchOptions(limit=100))
        found = [(hit.fiscal_year, hit.number) for hit in results.hits]
        wanted = set(expected)
        exact.append(set(found) == wanted and results.total == len(wanted))
        if not exact[-1]:
            misses.append((query, sorted(set(found) - wanted), sorted(wanted - set(found))))
        if not wanted:
            continue
        recalls.append(len(wanted & set(found)) / len(wanted))
        first = next((rank for rank, item in enumerate(found, 1) if item in wanted), None)
        reciprocal_ranks.append(1 / first if first else 0.0)
    recall = sum(recalls) / len(recalls)
    mrr = sum(reciprocal_ranks) / len(reciprocal_ranks)
    share = sum(exact) / len(exact)
    report = (
        f"recall {recall:.3f}, MRR {mrr:.3f}, exact {share:.3f}; misses (extra, missing): {misses}"
    )
    assert recall >= RECALL_AT_LEAST, report
    assert mrr >= MRR_AT_LEAST, report
    assert share >= EXACT_SHARE_AT_LEAST, report


def test_title_matches_rank_before_body_only_matches(three_years: Archive) -> None:
    """Where a query is in some titles, the first hit has it in its title."""
    searcher = three_years.searcher()
    checked = 0
    for query, expected in JUDGED:
        if not expected or ":" in query or "-" in query or " " in query.strip():
            continue
        results = searcher.search(query, SearchOptions(limit=100))
        in_titles = {
            h.key for h in searcher.search(f"title:{query}", SearchOptions(limit=100)).hits
        }
        if 0 < len(in_titles) < results.total:
            assert results.hits[0].key in in_titles, query
            checked += 1
    assert checked >= 5
