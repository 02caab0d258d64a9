"""The search page as a researcher uses it (#18): filters shown and removable, every year in
the year facet, a way out of no results, sort, grouping by measure, a reason for every hit,
exports of exactly the search on screen, Japanese throughout, and a phone layout. Each
number the page shows is checked against what the API answers for the same question, asked
by the test itself.

With PLAN_ARCHIVE_TEST_SCREENSHOTS set to a folder, the tests save what they saw there (at
1280 and 390 px), for a person to look at."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import Visit
from tests.conftest import REPORTS, archive_of, post_graphql, serving

pytestmark = pytest.mark.browser

QUERY = "市民"  # 12 hits over three years and several departments
WIDE, PHONE = 1280, 390
SEARCH = """query($text: String!, $filter: MeasureFilter, $order: SearchOrder! = RELEVANCE,
                  $first: Int = 10) {
  search(query: $text, filter: $filter, first: $first, orderBy: $order) {
    totalCount
    facets { fiscalYears { value count } departments { value count } }
    edges { node { id fiscalYear history { id } departments { name } } highlights { field } } } }"""
LABELS = "{ fiscalYears { year label } }"


def _url(port: int, fragment: str = "") -> str:
    return f"http://127.0.0.1:{port}/{fragment}"


def _search(port: int, text: str = QUERY, **variables: Any) -> dict[str, Any]:
    body = post_graphql(port, SEARCH, text=text, **variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["search"]
    return found


def _labels(port: int) -> dict[int, str]:
    body = post_graphql(port, LABELS)
    return {y["year"]: y["label"] for y in body["data"]["fiscalYears"]}


def _done(page: Page) -> None:
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#status")).not_to_contain_text("検索しています")


def _count(page: Page) -> int:
    """The total the page announces (0 when it says there is none)."""
    text = page.locator("#status").inner_text()
    if "一致する施策はありません" in text:
        return 0
    found = re.search(r"(\d+)件（", text)
    assert found is not None, text
    return int(found[1])


def _hit_ids(page: Page) -> list[str]:
    hrefs = page.locator(".hit h3 a").evaluate_all("links => links.map(a => a.hash)")
    return [unquote(href.removeprefix("#/measure/")) for href in hrefs]


def _search_hash(**params: str | list[str]) -> str:
    parts = []
    for name, value in params.items():
        for one in [value] if isinstance(value, str) else value:
            parts.append(f"{name}={quote(one)}")
    return "#/search?" + "&".join(parts)


def _screen(page: Page, name: str) -> None:
    folder = os.environ.get("PLAN_ARCHIVE_TEST_SCREENSHOTS")
    if folder:
        width = page.viewport_size["width"] if page.viewport_size else 0
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)


def _at(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844})


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


# ---- point 3: filters you can see ----------------------------------------------------------


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_filters_are_chips_and_the_home_link_clears_them(
    three_years: int, visit: Visit, width: int
) -> None:
    page = visit.page
    _at(page, width)
    unfiltered = _search(three_years)
    department = unfiltered["facets"]["departments"][0]["value"]
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    expect(page.locator("#active-filters")).to_be_hidden()
    if width == PHONE:  # folded away on a phone
        expect(page.locator("#facet-departments")).to_be_hidden()
        page.locator("#facets-box summary").click()
    page.locator("#facet-departments").get_by_role(
        "button", name=re.compile(f"^{re.escape(department)}（")
    ).click()
    chip = page.get_by_role(
        "button", name=re.compile(rf"^担当部課所: {re.escape(department)}\s*の絞り込みを外す$")
    )
    expect(chip).to_be_visible()
    filtered = _search(three_years, filter={"departments": [department]})
    expect(page.locator("#status")).to_contain_text(f"{filtered['totalCount']}件（")
    assert filtered["totalCount"] < unfiltered["totalCount"]
    _screen(page, "filter-chip")

    # Home is a fresh start: the next search has no filter left on.
    page.locator("header.site a").first.click()
    expect(page.locator("#active-filters")).to_be_hidden()
    expect(page.get_by_label("検索語")).to_have_value("")
    expect(page.get_by_label("担当部課所", exact=True)).to_have_value("")
    box = page.get_by_label("検索語")
    box.fill(QUERY)
    box.press("Enter")
    _done(page)
    assert _count(page) == unfiltered["totalCount"]
    expect(page).not_to_have_url(re.compile("department="))

    # A chip removes its filter alone, by keyboard too; clear-all removes every one.
    year = int(unfiltered["facets"]["fiscalYears"][-1]["value"])
    label = _labels(three_years)[year]
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear=str(year), department=department)))
    _done(page)
    both = _search(three_years, filter={"fiscalYears": [year], "departments": [department]})
    assert _count(page) == both["totalCount"]
    year_chip = page.get_by_role(
        "button", name=re.compile(rf"^年度: {re.escape(label)}\s*の絞り込みを外す$")
    )
    year_chip.focus()
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile("fiscalYear="))
    expect(page.locator("#status")).to_contain_text(f"{filtered['totalCount']}件（")
    expect(year_chip).to_have_count(0)
    expect(chip).to_be_visible()
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear=str(year), department=department)))
    _done(page)
    page.get_by_role("button", name="すべての絞り込みを外す").click()
    expect(page.locator("#status")).to_contain_text(f"{unfiltered['totalCount']}件（")
    expect(page.locator("#active-filters")).to_be_hidden()
    _no_sideways_scroll(page)
    visit.assert_clean()


def test_the_year_facet_keeps_every_year_and_takes_several(three_years: int, visit: Visit) -> None:
    page = visit.page
    labels = _labels(three_years)
    unfiltered = _search(three_years)
    years = [int(f["value"]) for f in unfiltered["facets"]["fiscalYears"]]
    assert len(years) >= 3
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear=str(years[0]))))
    _done(page)
    # Every year stays, with the count of the search without its years.
    facet = page.locator("#facet-years button")
    expect(facet).to_have_text(
        [
            f"{labels[int(f['value'])]}（{f['count']}件）"
            for f in unfiltered["facets"]["fiscalYears"]
        ]
    )
    facet.nth(1).click()
    expect(page).to_have_url(re.compile(f"fiscalYear={years[0]}&fiscalYear={years[1]}"))
    two = _search(three_years, filter={"fiscalYears": years[:2]})
    expect(page.locator("#status")).to_contain_text(f"{two['totalCount']}件（")
    expect(facet.nth(0)).to_have_attribute("aria-pressed", "true")
    expect(facet.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(facet.nth(2)).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_label(labels[years[0]], exact=True)).to_be_checked()
    expect(page.get_by_label(labels[years[1]], exact=True)).to_be_checked()
    # One page of results: no pager.
    assert two["totalCount"] <= 10
    expect(page.locator("#pager")).to_be_hidden()
    facet.nth(0).click()  # chosen again: removed
    expect(page).not_to_have_url(re.compile(f"fiscalYear={years[0]}"))
    visit.assert_clean()


def test_old_links_with_year_and_dept_still_work(three_years: int, visit: Visit) -> None:
    page = visit.page
    unfiltered = _search(three_years)
    department = unfiltered["facets"]["departments"][0]["value"]
    year = int(unfiltered["facets"]["fiscalYears"][0]["value"])
    page.goto(_url(three_years, _search_hash(q=QUERY, year=str(year), dept=department)))
    _done(page)
    both = _search(three_years, filter={"fiscalYears": [year], "departments": [department]})
    assert _count(page) == both["totalCount"]
    expect(page.locator("#filter-chips li")).to_have_count(2)
    # The page writes the shared names from then on.
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page).to_have_url(re.compile(f"fiscalYear={year}&department="))
    visit.assert_clean()


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_no_results_names_the_filters_and_offers_a_way_out(
    three_years: int, visit: Visit, width: int
) -> None:
    page = visit.page
    _at(page, width)
    labels = _labels(three_years)
    # A department and a year the query finds apart but not together.
    unfiltered = _search(three_years)
    year, department = next(
        (int(y["value"]), d["value"])
        for d in unfiltered["facets"]["departments"]
        for y in unfiltered["facets"]["fiscalYears"]
        if _search(
            three_years, filter={"fiscalYears": [int(y["value"])], "departments": [d["value"]]}
        )["totalCount"]
        == 0
    )
    page.goto(_url(three_years, _search_hash(q=QUERY, fiscalYear=str(year), department=department)))
    _done(page)
    box = page.locator("#no-results")
    expect(box).to_be_visible()
    expect(box).to_contain_text(f"年度: {labels[year]}")
    expect(box).to_contain_text(f"担当部課所: {department}")
    expect(box).to_contain_text("検索のこつ")
    expect(box).to_contain_text("OR")
    expect(page.locator("#hits li")).to_have_count(0)
    expect(page.locator("#pager")).to_be_hidden()
    expect(page.locator("#exports")).to_be_hidden()
    # No department facet when nothing is found but the chosen one, at 0.
    expect(page.locator("#facet-departments button")).to_have_text([f"{department}（0件）"])
    _screen(page, "no-results")
    _no_sideways_scroll(page)
    box.get_by_role("link", name=f"年度「{labels[year]}」を外して検索する").click()
    only = _search(three_years, filter={"departments": [department]})
    expect(page.locator("#status")).to_contain_text(f"{only['totalCount']}件（")
    page.go_back()
    _done(page)
    box.get_by_role("link", name="すべての絞り込みを外して検索する").click()
    expect(page.locator("#status")).to_contain_text(f"{unfiltered['totalCount']}件（")
    visit.assert_clean()


def test_empty_facets_hide_with_their_heading(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years, _search_hash(q="存在しない語句です")))
    _done(page)
    assert _search(three_years, "存在しない語句です")["totalCount"] == 0
    expect(page.locator("#facet-years-heading")).to_be_hidden()
    expect(page.locator("#facet-departments-heading")).to_be_hidden()
    expect(page.locator("#no-results-filters")).to_be_hidden()  # no filter to name
    expect(page.locator("#no-results")).to_contain_text("検索のこつ")
    visit.assert_clean()


# ---- point 4: results a researcher can scan ------------------------------------------------


@pytest.mark.parametrize(
    ("order", "api"), [("fiscalYear", "FISCAL_YEAR_ASC"), ("-fiscalYear", "FISCAL_YEAR_DESC")]
)
def test_sort_by_year(three_years: int, visit: Visit, order: str, api: str) -> None:
    page = visit.page
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    page.get_by_label("並び順").select_option(order)
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page).to_have_url(re.compile(f"order={re.escape(order)}"))
    _done(page)
    expected = [e["node"]["id"] for e in _search(three_years, order=api)["edges"]]
    expect(page.locator(".hit h3 a")).to_have_count(len(expected))
    assert _hit_ids(page) == expected
    years = [e["node"]["fiscalYear"] for e in _search(three_years, order=api)["edges"]]
    assert years == sorted(years, reverse=order.startswith("-"))
    page.get_by_label("並び順").select_option("relevance")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page).not_to_have_url(re.compile("order="))
    visit.assert_clean()


def _groups(edges: list[dict[str, Any]]) -> list[list[str]]:
    """The hits whose histories meet (directly or through another hit), each group in page
    order, the groups in the order of their first hit."""
    order = [e["node"]["id"] for e in edges]
    groups: list[tuple[set[str], list[str]]] = []
    for edge in edges:
        members = {edge["node"]["id"], *(m["id"] for m in edge["node"]["history"])}
        hits = [edge["node"]["id"]]
        for group in [g for g in groups if g[0] & members]:
            groups.remove(group)
            members |= group[0]
            hits += group[1]
        groups.append((members, hits))
    found = [sorted(hits, key=order.index) for _, hits in groups]
    return sorted(found, key=lambda hits: order.index(hits[0]))


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_group_by_measure_across_years(three_years: int, visit: Visit, width: int) -> None:
    page = visit.page
    _at(page, width)
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    if width == PHONE:
        page.locator("#options summary").click()
    page.get_by_label("年度をまたいで同じ施策をまとめる").check()
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page).to_have_url(re.compile("group=measure"))
    _done(page)
    found = _search(three_years, first=50)
    groups = _groups(found["edges"])
    assert len(groups) < len(found["edges"]), "some measure must match in several years"
    entries = page.locator("#hits > li")
    expect(entries).to_have_count(len(groups))
    assert _hit_ids(page) == [hits[0] for hits in groups]
    for index, hits in enumerate(groups):
        matched = entries.nth(index).locator(".group-years a.matched")
        hrefs = matched.evaluate_all("links => links.map(a => a.hash)")
        assert sorted(unquote(h.removeprefix("#/measure/")) for h in hrefs) == sorted(hits)
    expect(page.locator("#group-note")).to_contain_text(f"{len(groups)}件にまとめました")
    expect(page.locator("#status")).to_contain_text(f"{found['totalCount']}件")
    _screen(page, "grouped")
    _no_sideways_scroll(page)
    visit.assert_clean()


@pytest.mark.parametrize(
    ("query", "reason"),
    [("令和2年度", "令和2年度の施策すべてに一致"), ("department:秘書課", "担当部課所が「秘書課」")],
)
def test_every_hit_has_an_excerpt_or_a_reason(
    three_years: int, visit: Visit, query: str, reason: str
) -> None:
    page = visit.page
    page.goto(_url(three_years, _search_hash(q=query)))
    _done(page)
    edges = _search(three_years, query)["edges"]
    without = [e["node"]["id"] for e in edges if not e["highlights"]]
    assert without, "the query must find hits that have no excerpt"
    hits = page.locator("#hits > li")
    expect(hits).to_have_count(len(edges))
    for index, edge in enumerate(edges):
        hit = hits.nth(index)
        expect(hit.locator(".fragment")).not_to_have_count(0)
        if not edge["highlights"]:
            expect(hit.locator(".reason")).to_contain_text(reason)
    _screen(page, "reasons")
    visit.assert_clean()


def test_and_is_syntax(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years, _search_hash(q="市民 AND 情報")))
    _done(page)
    plain = _search(three_years, "市民 情報")
    assert plain["totalCount"] > 0
    assert _count(page) == plain["totalCount"]
    assert _hit_ids(page) == [e["node"]["id"] for e in plain["edges"]]
    visit.assert_clean()


# ---- points 1 and 2: Japanese, and exports --------------------------------------------------


def test_the_page_asks_for_japanese(three_years: int, visit: Visit) -> None:
    page = visit.page
    languages: list[str | None] = []

    def record(request: Request) -> None:
        if request.resource_type == "fetch":  # the page's own requests
            languages.append(request.all_headers().get("accept-language"))

    page.on("request", record)
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    with page.expect_download():
        page.get_by_role("link", name="CSV").click()
    # The page's own requests (its searches and the export's check); the download itself is
    # a navigation, with the browser's languages.
    assert len(languages) >= 3
    assert set(languages) == {"ja"}
    _assert_clean_but_downloads(visit)


def _assert_clean_but_downloads(visit: Visit) -> None:
    """Chromium ends a navigation that turns into a download as an aborted request."""
    visit.problems = [
        p
        for p in visit.problems
        if not re.fullmatch(r"failed: GET \S+/export\.\w+\?\S* net::ERR_ABORTED", p)
    ]
    visit.assert_clean()


def _export_query(href: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(href).query)


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_exports_are_the_search_on_screen(three_years: int, visit: Visit, width: int) -> None:
    page = visit.page
    _at(page, width)
    unfiltered = _search(three_years)
    department = unfiltered["facets"]["departments"][0]["value"]
    years = [int(f["value"]) for f in unfiltered["facets"]["fiscalYears"]][:2]
    page.goto(
        _url(
            three_years,
            _search_hash(
                q=QUERY,
                fiscalYear=[str(y) for y in years],
                department=department,
                order="-fiscalYear",
            ),
        )
    )
    _done(page)
    wanted = [
        ("q", QUERY),
        *(("fiscalYear", str(y)) for y in years),
        ("department", department),
        ("order", "-fiscalYear"),
    ]
    for name, path in [
        ("CSV", "/export.csv"),
        ("JSON Lines", "/export.jsonl"),
        ("Excel", "/export.xlsx"),
    ]:
        href = page.get_by_role("link", name=name, exact=True).get_attribute("href") or ""
        assert urlsplit(href).path == path
        # The CSV asks for the page's Japanese column names too (the workbook has them always).
        assert _export_query(href) == (
            [*wanted, ("header", "ja")] if path == "/export.csv" else wanted
        )
    expected = _search(
        three_years,
        filter={"fiscalYears": years, "departments": [department]},
        order="FISCAL_YEAR_DESC",
    )
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV", exact=True).click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) - 1 == expected["totalCount"]
    with page.expect_download() as jsonl_download:
        page.get_by_role("link", name="JSON Lines", exact=True).click()
    lines = Path(jsonl_download.value.path()).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert len(records) == expected["totalCount"]
    expect(page.locator("#export-note")).to_be_hidden()
    expect(page.locator("#results")).to_be_visible()  # the page stays
    _screen(page, "exports")
    _assert_clean_but_downloads(visit)


def test_a_refused_export_is_said_in_the_page_in_japanese(
    tmp_path_factory: pytest.TempPathFactory, visit: Visit
) -> None:
    """The server exports at most 3 rows: the page asks first (HEAD) and says why not, in
    Japanese, without leaving the results."""
    settings = archive_of(tmp_path_factory.mktemp("few-rows"), REPORTS)
    with serving(dataclasses.replace(settings, max_export_rows=3)) as port:
        page = visit.page
        page.goto(_url(port, _search_hash(q=QUERY)))
        _done(page)
        total = _count(page)
        assert total > 3
        page.get_by_role("link", name="CSV", exact=True).click()
        note = page.locator("#export-note")
        expect(note).to_be_visible()
        expect(note).to_contain_text(f"{total}件")
        expect(note).to_contain_text("3件")
        assert re.search(r"[A-Za-z]+\s+[A-Za-z]+\s+[A-Za-z]+", note.inner_text()) is None
        expect(page.locator("#results")).to_be_visible()
        assert page.url.startswith(_url(port, "#/search?"))
        _screen(page, "export-refused")
        # The refused HEAD, and the GET that reads its one-line reason, are the only errors.
        assert visit.problems
        for problem in visit.problems:
            assert "/export.csv" in problem or "Failed to load resource" in problem, problem


# ---- point 7: the phone ------------------------------------------------------------------


def test_on_a_phone_results_come_first(three_years: int, visit: Visit) -> None:
    page = visit.page
    _at(page, PHONE)
    page.goto(_url(three_years, _search_hash(q=QUERY, department="秘書課")))
    _done(page)
    first = page.locator(".hit").first.bounding_box()
    assert first is not None
    assert first["y"] + 40 < 844, "the first result starts within the first screen"
    expect(page.locator("#facets-box")).not_to_have_attribute("open", "")
    expect(page.locator("#facet-years")).to_be_hidden()
    expect(page.locator("#years")).to_be_hidden()  # the conditions are folded too
    expect(page.locator("#active-filters")).to_be_visible()  # but the filter on is shown
    _no_sideways_scroll(page)
    _screen(page, "phone-search")
    # The folded facets open by keyboard.
    page.locator("#facets-box summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#facet-years")).to_be_visible()
    _no_sideways_scroll(page)
    # A measure page does not scroll sideways either.
    page.locator(".hit h3 a").first.click()
    expect(page.locator("#measure-heading")).to_be_visible()
    _no_sideways_scroll(page)
    _screen(page, "phone-measure")
    visit.assert_clean()


def test_on_a_wide_screen_the_facets_are_a_sidebar(three_years: int, visit: Visit) -> None:
    page = visit.page
    _at(page, WIDE)
    page.goto(_url(three_years, _search_hash(q=QUERY)))
    _done(page)
    expect(page.locator("#facet-years")).to_be_visible()
    expect(page.locator("#years")).to_be_visible()
    facets = page.locator("#facets-box").bounding_box()
    hits = page.locator("#hits").bounding_box()
    assert facets is not None
    assert hits is not None
    assert facets["x"] + facets["width"] <= hits["x"]  # beside the results, not above
    _screen(page, "wide-search")
    visit.assert_clean()
