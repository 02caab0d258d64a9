"""What a newcomer found on the search page in a fresh clone (issue 18's follow-up), each
checked in headless Chromium against the real server over Hitachi's three years: conditions
changed but not searched say so, the page's CSV has Japanese headers, a chosen facet folds
away on a phone, a long query never widens the page, chart values stay inside their chart,
small multiples share one size, a blank search leaves no old error, and the small things
(no overview of nothing, era labels for any year, a message for an unknown address).

With PLAN_ARCHIVE_TEST_SCREENSHOTS set to a folder, the tests save what they saw there."""

from __future__ import annotations

import csv
import io
import re
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Visit
from tests.browser.test_researcher_page import (
    PHONE,
    QUERY,
    WIDE,
    _assert_clean_but_downloads,
    _at,
    _count,
    _done,
    _labels,
    _no_sideways_scroll,
    _screen,
    _search,
    _search_hash,
    _url,
)
from tests.conftest import post_graphql

pytestmark = pytest.mark.browser

PENDING = "条件を変更しました。検索を押すと反映されます。"


def _hash(page: Page) -> str:
    return str(page.evaluate("location.hash"))


# ---- 1: conditions changed but not searched --------------------------------------------------


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_changed_conditions_say_they_wait_for_the_search_button(
    three_years: int, visit: Visit, width: int
) -> None:
    """The rule: every condition (years, department, order, grouping) applies when 検索 is
    pressed; until then a notice beside the button says the results are not yet the form's."""
    page = visit.page
    _at(page, width)
    page.goto(_url(three_years, _search_hash(q="防災")))
    _done(page)
    shown, count = _hash(page), _count(page)
    notice = page.locator("#pending")
    expect(notice).to_be_hidden()
    if width == PHONE:
        page.locator("#options summary").click()
    years = sorted(_labels(three_years))
    page.locator(f"#year-{years[0]}").check()
    expect(notice).to_have_text(PENDING)
    _screen(page, "pending")
    assert _hash(page) == shown  # nothing searched yet
    assert _count(page) == count
    page.locator(f"#year-{years[0]}").uncheck()  # the form is the results' again
    expect(notice).to_be_hidden()
    # A select by keyboard: an arrow key changes the choice, not the page.
    page.locator("#order").focus()
    page.keyboard.press("ArrowDown")
    expect(notice).to_have_text(PENDING)
    assert _hash(page) == shown
    chosen = page.locator("#order").input_value()
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.locator("#status")).not_to_contain_text("検索しています")
    assert f"order={quote(chosen)}" in _hash(page)
    expect(notice).to_be_hidden()
    page.locator("#group").check()
    expect(notice).to_have_text(PENDING)
    page.locator("#query").press("Enter")
    expect(page).to_have_url(re.compile("group=measure"))
    expect(notice).to_be_hidden()
    visit.assert_clean()


# ---- 2: the page's CSV in Japanese ------------------------------------------------------------


def test_the_page_exports_a_csv_with_japanese_headers(three_years: int, visit: Visit) -> None:
    page = visit.page
    _at(page, WIDE)
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    href = page.get_by_role("link", name="CSV", exact=True).get_attribute("href") or ""
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    got = list(csv.reader(io.StringIO(text)))

    def header(language: str) -> list[str]:
        address = f"http://127.0.0.1:{three_years}/export.csv?q={quote(QUERY)}&header={language}"
        with urllib.request.urlopen(address, timeout=30) as answer:
            return next(csv.reader(io.StringIO(answer.read().decode("utf-8-sig"))))

    assert "header=ja" in urlsplit(href).query
    # Chromium takes the UTF-8 name (RFC 6266 filename*): the file is named after the search.
    assert download.value.suggested_filename == f"plan-archive-{QUERY}.csv"
    assert got[0] == header("ja") != header("en")
    _assert_clean_but_downloads(visit)


# ---- 3: a chosen facet folds away on a phone --------------------------------------------------


def test_a_chosen_facet_folds_away_on_a_phone(three_years: int, visit: Visit) -> None:
    page = visit.page
    _at(page, PHONE)
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    department = _search(three_years)["facets"]["departments"][-1]["value"]
    page.locator("#facets-box summary").click()
    page.locator("#facet-departments button", has_text=department).click()
    expect(page.locator("#filter-chips")).to_contain_text(department)
    _done(page)
    expect(page.locator("#facets-box")).not_to_have_attribute("open", "")
    first = page.locator(".hit").first.bounding_box()
    assert first is not None
    assert first["y"] + 40 < 844, "the first result starts within the first screen"
    _screen(page, "facet-chosen")
    # Opened again, it folds for the next search too.
    page.locator("#facets-box summary").click()
    expect(page.locator("#facet-years")).to_be_visible()
    page.locator("#query").fill("防災")
    page.locator("#query").press("Enter")
    expect(page.locator("#status")).to_contain_text("防災")
    expect(page.locator("#facets-box")).not_to_have_attribute("open", "")
    visit.assert_clean()


# ---- 4: a long query never widens the page ------------------------------------------------------


def test_what_is_typed_while_the_page_loads_its_choices_is_kept(
    three_years: int, visit: Visit
) -> None:
    """A visitor who types before the years and departments have loaded, then presses Enter,
    searches for what they typed: the page's first render does not empty the box (the suite
    caught this on a busy machine, as "検索語を入力してください" after a typed query)."""
    page = visit.page
    held: list[Route] = []
    page.route("**/graphql", lambda route: held.append(route) if not held else route.continue_())
    page.goto(_url(three_years), wait_until="domcontentloaded")
    page.locator("#query").fill(QUERY)
    assert len(held) == 1  # the choices are still on their way
    held[0].continue_()
    expect(page.locator("#years input").first).to_be_attached()  # loaded, then rendered
    page.locator("#query").press("Enter")
    _done(page)
    expect(page.locator("#status")).to_contain_text(f"「{QUERY}」の検索結果")
    visit.assert_clean()


@pytest.mark.parametrize(
    "query", ["https://www.city.hitachi.lg.jp/shisei/001/p012345.html", "x" * 200]
)
def test_a_long_unbroken_query_does_not_widen_the_phone_page(
    three_years: int, visit: Visit, query: str
) -> None:
    page = visit.page
    _at(page, PHONE)
    page.goto(_url(three_years))
    page.locator("#query").fill(query)
    page.locator("#query").press("Enter")
    _done(page)
    expect(page.locator("#no-results")).to_be_visible()
    _no_sideways_scroll(page)
    _screen(page, f"long-query-{len(query)}")
    page.goto(_url(three_years, f"#/overview?q={quote(query)}"))
    expect(page.locator("#status")).to_contain_text("概要")
    _no_sideways_scroll(page)
    visit.assert_clean()


# ---- 5: chart values stay inside their chart -----------------------------------------------------

MEASURES = """query($filter: MeasureFilter) { measures(filter: $filter, first: 100) {
  edges { node { id number indicators { label } } } } }"""

# Every value label's box, and the chart's width and y axis, in the chart's own units.
LABEL_BOXES = """svg => {
  const width = svg.viewBox.baseVal.width;
  const axis = [...svg.querySelectorAll("line.axis")].find(
    (l) => l.x1.baseVal.value === l.x2.baseVal.value && Math.abs(l.y2.baseVal.value - l.y1.baseVal.value) > 10);
  const boxes = [...svg.querySelectorAll("text.value")].map((t) => {
    const b = t.getBBox();
    return { text: t.textContent, left: b.x, right: b.x + b.width };
  });
  return { width, axis: axis.x1.baseVal.value, boxes };
}"""


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_chart_values_stay_inside_the_chart_and_off_the_axis(
    three_years: int, visit: Visit, width: int
) -> None:
    body = post_graphql(three_years, MEASURES, filter={"fiscalYears": [2019]})
    charted = [
        edge["node"]
        for edge in body["data"]["measures"]["edges"]
        if any(figure["label"] for figure in edge["node"]["indicators"])
    ]
    assert any(measure["number"] == "01" for measure in charted)  # the newcomer's 累計リーチ
    page = visit.page
    _at(page, width)
    checked = 0
    for measure in charted:
        page.goto(_url(three_years, f"#/measure/{quote(measure['id'], safe='')}"))
        expect(page.locator("#measure-heading")).to_contain_text(f"No {measure['number']}")
        expect(page.locator("#charts-section")).to_be_visible()
        for chart in page.locator("#charts svg.chart").all():
            found: dict[str, Any] = chart.evaluate(LABEL_BOXES)
            for box in found["boxes"]:
                assert box["left"] > found["axis"], f"{box['text']} overlaps the y axis"
                assert box["right"] <= found["width"], f"{box['text']} runs past the chart"
                checked += 1
        if measure["number"] == "01":
            _screen(page, "chart-labels")
    assert checked > 0
    visit.assert_clean()


# ---- 6: small multiples share one size ---------------------------------------------------------


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_small_multiples_are_drawn_at_one_size(three_years: int, visit: Visit, width: int) -> None:
    page = visit.page
    _at(page, width)
    page.goto(_url(three_years, "#/overview"))
    charts = page.locator("[aria-labelledby=overview-statuses] .small-multiples svg.chart")
    expect(charts.first).to_be_visible()
    boxes = [chart.bounding_box() for chart in charts.all()]
    assert len(boxes) >= 3
    sizes = {(round(box["width"]), round(box["height"])) for box in boxes if box is not None}
    assert len(sizes) == 1, f"the charts of one comparison differ in size: {sizes}"
    _no_sideways_scroll(page)
    _screen(page, "small-multiples")
    visit.assert_clean()


# ---- 8: a blank search leaves no old error ------------------------------------------------------


@pytest.mark.parametrize("blank", ["   ", ""])
def test_a_blank_search_clears_an_old_error(three_years: int, visit: Visit, blank: str) -> None:
    page = visit.page
    _at(page, WIDE)
    page.goto(_url(three_years, _search_hash(q="grade:")))
    expect(page.locator("#error")).to_be_visible()
    page.locator("#query").fill(blank)
    page.locator("#query").press("Enter")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("検索語を入力してください。")
    assert _hash(page) == "#/"
    expect(page.locator("#query")).to_be_focused()
    _screen(page, "blank-search")
    visit.assert_clean()


# ---- 9: small things ------------------------------------------------------------------------------


def test_no_overview_of_no_hits(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years, _search_hash(q="存在しない語ですよ")))
    _done(page)
    expect(page.locator("#no-results")).to_be_visible()
    expect(page.locator("#overview-link")).to_be_hidden()
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    expect(page.locator("#overview-link")).to_be_visible()
    visit.assert_clean()


def test_a_year_without_reports_is_named_in_its_era(three_years: int, visit: Visit) -> None:
    assert 1999 not in _labels(three_years)
    page = visit.page
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear="1999")))
    _done(page)
    expect(page.locator("#filter-chips")).to_have_text("年度: 平成11年度の絞り込みを外す ×")
    visit.assert_clean()


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_an_unknown_address_says_so(three_years: int, visit: Visit, width: int) -> None:
    page = visit.page
    _at(page, width)
    page.goto(_url(three_years, "#/nowhere"))
    expect(page.locator("#error")).to_contain_text("ページはありません")
    page.get_by_role("link", name="検索のはじめに戻る").click()
    expect(page.locator("#error")).to_be_hidden()
    assert _hash(page) == "#/"
    _screen(page, "unknown-address")
    visit.assert_clean()


def test_the_whole_archive_overview_empties_the_form(three_years: int, visit: Visit) -> None:
    """A second newcomer: after a search, the header's overview of the whole archive left
    the old query in the box, as if the overview were of it."""
    page = visit.page
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear="2020")))
    _done(page)
    expect(page.get_by_label("検索語")).to_have_value(QUERY)
    page.get_by_role("link", name="アーカイブの概要").click()
    expect(page.get_by_label("検索語")).to_have_value("")
    assert page.locator("#years input:checked").count() == 0
    visit.assert_clean()


def test_a_matched_number_is_labelled_in_japanese(three_years: int, visit: Visit) -> None:
    """Every highlight the API can give has a Japanese label (a second newcomer saw the
    English field name for number:)."""
    page = visit.page
    page.goto(_url(three_years, _search_hash(q="number:5")))
    _done(page)
    names = page.locator("#results .field-name").all_inner_texts()
    assert names
    assert set(names) == {"番号"}
    visit.assert_clean()
