"""The overview page (#/overview) in headless Chromium against the real server over three years
of reports: every count it shows is checked against what ``Query.overview`` answers for the same
question (the API's own counts are checked against the store in tests/schema/test_overview.py),
its charts are hidden drawings with a table each, years are 令和 with the Western year on hover,
and at 390 px nothing scrolls sideways. Screenshots at 1280 and 390 px go to the test's temporary
folder, to be looked at (pytest --basetemp=DIR keeps them in DIR)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
import itertools

from playwright.sync_api import Page, expect

from tests.browser.conftest import Visit
from tests.conftest import post_graphql

pytestmark = pytest.mark.browser

OVERVIEW = """query($text: String, $filter: MeasureFilter) {
  overview(query: $text, filter: $filter) {
    totalCount
    fiscalYears { fiscalYear label count }
    nextYearStatuses { fiscalYear value count }
    pillars { fiscalYear value count }
    departments { fiscalYear value count } } }"""
SEARCH_TOTAL = """query($text: String!) { search(query: $text, first: 1) { totalCount } }"""
QUERY = "市民"


def _url(port: int, fragment: str = "") -> str:
    return f"http://127.0.0.1:{port}/{fragment}"


def _overview(port: int, **variables: Any) -> dict[str, Any]:
    body = post_graphql(port, OVERVIEW, **variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["overview"]
    return found


def _table(page: Page, caption: str) -> list[list[str]]:
    """The body rows of the table with ``caption``, as the cells' texts."""
    table = page.locator("#overview table").filter(has=page.locator("caption", has_text=caption))
    expect(table).to_have_count(1)
    rows: list[list[str]] = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    return rows


def _totals(counts: list[dict[str, Any]]) -> dict[str | None, int]:
    out: dict[str | None, int] = {}
    for item in counts:
        out[item["value"]] = out.get(item["value"], 0) + item["count"]
    return out


def _no_sideways_scroll(page: Page) -> None:
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"the page scrolls sideways: {scroll} > {client}"


def _check_page(page: Page, found: dict[str, Any]) -> None:
    """Every count the overview shows is the API's."""
    years = found["fiscalYears"]
    rows = _table(page, "年度別の施策数")
    assert rows == [[y["label"], f"{y['count']}件"] for y in years] + [
        ["計", f"{found['totalCount']}件"]
    ]
    # The year chart: a bar per year, its count written on it, R-years on the axis with the
    # Western year on hover.
    chart = page.locator("#overview-years ~ * svg").first
    expect(chart).to_have_attribute("aria-hidden", "true")
    assert chart.locator("text.value").all_text_contents() == [str(y["count"]) for y in years]
    ticks = chart.locator("g.year-tick")
    expect(ticks).to_have_count(len(years))
    for tick, year in zip(ticks.all(), years, strict=True):
        expect(tick.locator("text")).to_have_text(f"R{year['fiscalYear'] - 2018}")
        expect(tick.locator("title")).to_have_text(f"{year['label']}（{year['fiscalYear']}年度）")
    # A real axis: ticks from 0 (three at least, or every whole number up to a small count),
    # evenly spaced, the last at or above the largest count.
    largest = max(y["count"] for y in years)
    values = [int(t) for t in chart.locator("text.tick").all_text_contents() if t.isdigit()]
    assert values[0] == 0
    assert len(values) >= min(3, largest + 1)
    assert len({b - a for a, b in itertools.pairwise(values)}) == 1
    assert values[-1] >= largest

    # Next-year status: a chart per status (one series each), the table of years by status.
    statuses = list(dict.fromkeys(s["value"] for s in found["nextYearStatuses"]))
    names = [s or "記載なし" for s in statuses]
    expect(page.locator(".small-multiples figure")).to_have_count(len(statuses))
    expect(page.locator(".small-multiples figcaption")).to_have_text([f"{n}（件）" for n in names])
    counted = {(s["fiscalYear"], s["value"]): s["count"] for s in found["nextYearStatuses"]}
    assert _table(page, "年度別・次年度の扱い別の施策数") == [
        [
            y["label"],
            *(str(counted.get((y["fiscalYear"], s), 0)) for s in statuses),
            str(y["count"]),
        ]
        for y in years
    ]

    # Pillars (in the reports' order) and departments (most first): every one in the table,
    # a count per year and the total.
    for caption, counts in (("体系別の施策数", "pillars"), ("担当部課所別の施策数", "departments")):
        totals = _totals(found[counts])
        rows = _table(page, caption)
        assert len(rows) == len(totals)
        for row in rows:
            value = None if row[0] == "体系なし" else row[0]
            per_year = {(c["fiscalYear"]): c["count"] for c in found[counts] if c["value"] == value}
            assert row[1:] == [str(per_year.get(y["fiscalYear"], 0)) for y in years] + [
                str(totals[value])
            ]
    shown = [row[-1] for row in _table(page, "担当部課所別の施策数")]
    assert [int(n) for n in shown] == sorted((int(n) for n in shown), reverse=True)
    # Every drawing is hidden from assistive technology; its table beside it says it all.
    for svg in page.locator("#overview svg").all():
        expect(svg).to_have_attribute("aria-hidden", "true")
        expect(svg.locator(":scope > title")).not_to_be_empty()


def test_the_archive_overview_at_1280(three_years: int, visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(_url(three_years))
    page.get_by_role("link", name="アーカイブの概要").click()
    heading = page.locator("#overview-heading")
    expect(heading).to_have_text("アーカイブ全体の概要")
    expect(heading).to_be_focused()
    found = _overview(three_years)
    assert len(found["fiscalYears"]) == 3
    _check_page(page, found)
    expect(page.locator("#results")).to_be_hidden()
    page.screenshot(path=tmp_path / "overview-1280.png", full_page=True)
    _no_sideways_scroll(page)
    visit.assert_clean()


def test_a_search_overview_at_390(three_years: int, visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(_url(three_years, f"#/search?q={quote(QUERY)}"))
    expect(page.locator("#results")).to_be_visible()
    page.get_by_role("link", name=re.compile("この検索結果の概要")).click()
    expect(page).to_have_url(re.compile(r"#/overview\?q="))
    expect(page.locator("#overview-heading")).to_have_text(f"「{QUERY}」の検索結果の概要")
    found = _overview(three_years, text=QUERY)
    total = post_graphql(three_years, SEARCH_TOTAL, text=QUERY)["data"]["search"]["totalCount"]
    assert found["totalCount"] == total > 0
    expect(page.locator("#overview .overview-scope")).to_contain_text(f"施策 {total}件を集計")
    _check_page(page, found)
    page.screenshot(path=tmp_path / "overview-390.png", full_page=True)
    _no_sideways_scroll(page)
    # Back to the list of the same search.
    page.get_by_role("link", name="検索結果の一覧に戻る").click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#overview")).to_be_hidden()
    visit.assert_clean()


def test_filters_and_the_former_parameter_names(three_years: int, visit: Visit) -> None:
    page = visit.page
    department = _overview(three_years, text=QUERY)["departments"][0]["value"]
    where = {"fiscalYears": [2020, 2021], "departments": [department]}
    found = _overview(three_years, text=QUERY, filter=where)
    assert found["totalCount"] > 0
    for fragment in (
        f"#/overview?q={quote(QUERY)}&fiscalYear=2020&fiscalYear=2021&department={quote(department)}",
        f"#/overview?q={quote(QUERY)}&year=2020&year=2021&dept={quote(department)}",
    ):
        page.goto(_url(three_years, fragment))
        scope = page.locator("#overview .overview-scope")
        expect(scope).to_contain_text(f"施策 {found['totalCount']}件を集計")
        expect(scope).to_contain_text(department)
        expect(scope).to_contain_text("令和2年度")
        _check_page(page, found)
    # The whole archive is a link away.
    page.get_by_role("link", name="アーカイブ全体の概要").click()
    expect(page.locator("#overview-heading")).to_have_text("アーカイブ全体の概要")
    visit.assert_clean()


def test_no_hits_and_a_refused_query(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years, f"#/overview?q={quote('存在しない語ですよ')}"))
    expect(page.locator("#overview")).to_contain_text("該当する施策がないため")
    expect(page.locator("#overview svg")).to_have_count(0)
    page.goto(_url(three_years, f"#/overview?q={quote(chr(34) + 'unclosed')}"))
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("概要を集計できませんでした")
    expect(page.locator("#overview")).to_be_hidden()
    visit.assert_clean()
