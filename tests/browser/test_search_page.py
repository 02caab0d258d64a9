"""The search page at / in headless Chromium, against the real server over three years of
reports. Every number the page shows is checked against what GraphQL answers for the same
question, asked by the test itself."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Page, Route, expect

from server.settings import Settings
from tests.browser.conftest import Visit, serving
from tests.conftest import post_graphql, settings_for

pytestmark = pytest.mark.browser

QUERY = "市民"  # more hits than one page holds, in every year
SEARCH = """query($text: String!, $filter: MeasureFilter, $after: String) {
  search(query: $text, filter: $filter, first: 10, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { fiscalYears { value count } departments { value count } }
    edges { node { id title fiscalYear } } } }"""
MEASURE = """query($id: ID!) { node(id: $id) { ... on Measure {
  id title fiscalYear number history { id fiscalYear number title }
  indicators { label unit } } } }"""
LABELS = "{ fiscalYears { year label } }"


def _url(port: int, fragment: str = "") -> str:
    return f"http://127.0.0.1:{port}/{fragment}"


def _api(port: int, query: str, **variables: Any) -> dict[str, Any]:
    body = post_graphql(port, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _search(port: int, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = _api(port, SEARCH, text=QUERY, **variables)["search"]
    return found


def _shown_count(page: Page) -> int:
    """The total the page announces in its live region."""
    status = page.locator("#status")
    expect(status).to_contain_text("件（")
    found = re.search(r"(\d+)件（", status.inner_text())
    assert found is not None
    return int(found[1])


def _search_done(page: Page) -> None:
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#status")).not_to_contain_text("検索しています")


def _hit_ids(page: Page) -> list[str]:
    hrefs = page.locator(".hit h3 a").evaluate_all("links => links.map(a => a.hash)")
    return [unquote(href.removeprefix("#/measure/")) for href in hrefs]


def test_search_facet_pages_and_a_measure(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    box = page.get_by_label("検索語")
    box.fill(QUERY)
    box.press("Enter")
    _search_done(page)
    first = _search(three_years)
    assert first["totalCount"] > 10, "the query must need two pages"
    assert _shown_count(page) == first["totalCount"]
    from_api = [edge["node"]["id"] for edge in first["edges"]]
    assert _hit_ids(page) == from_api
    expect(page.locator("#results-heading")).to_be_focused()
    expect(page.locator("#hits mark").first).to_have_text(QUERY)

    # The next page holds the API's next page; the previous page the first again.
    page.get_by_role("link", name="次のページ").click()
    second = _search(three_years, after=first["pageInfo"]["endCursor"])
    expect(page.locator(".hit")).to_have_count(len(second["edges"]))
    assert _hit_ids(page) == [e["node"]["id"] for e in second["edges"]]
    page.get_by_role("link", name="前のページ").click()
    expect(page.locator(".hit")).to_have_count(len(first["edges"]))

    # A year's facet filters to that year, and the URL keeps it across a reload.
    labels = {str(y["year"]): y["label"] for y in _api(three_years, LABELS)["fiscalYears"]}
    facet = first["facets"]["fiscalYears"][-1]
    page.locator("#facet-years").get_by_role(
        "button", name=f"{labels[facet['value']]}（{facet['count']}件）"
    ).click()
    expect(page.locator(".hit")).to_have_count(min(facet["count"], 10))
    filtered = _search(three_years, filter={"fiscalYears": [int(facet["value"])]})
    assert _shown_count(page) == filtered["totalCount"] == facet["count"]
    assert f"year={facet['value']}" in page.url
    page.reload()
    _search_done(page)
    assert _shown_count(page) == filtered["totalCount"]
    expect(page.get_by_label(labels[facet["value"]])).to_be_checked()
    expect(page.get_by_label("検索語")).to_have_value(QUERY)

    # A department's facet (over the unfiltered search) filters to it.
    page.get_by_label(labels[facet["value"]]).uncheck()
    page.get_by_role("button", name="検索").click()
    expect(page.locator("#status")).to_contain_text(f"{first['totalCount']}件（")
    department = first["facets"]["departments"][0]
    page.locator("#facet-departments").get_by_role(
        "button", name=f"{department['value']}（{department['count']}件）"
    ).click()
    expect(page.get_by_label("担当部課所", exact=True)).to_have_value(department["value"])
    assert _shown_count(page) == department["count"]

    # A measure with a history and figures: its page links every other year, and draws one
    # chart per figure of it (a label and unit the API's indicatorSeries follows).
    measure = _measure_with_history(three_years, from_api)
    page.goto(_url(three_years, f"#/measure/{measure['id']}"))
    heading = page.locator("#measure-heading")
    expect(heading).to_contain_text(measure["title"])
    others = [m for m in measure["history"] if m["id"] != measure["id"]]
    expect(page.locator("#history a")).to_have_count(len(others))
    series = {(f["label"], f["unit"]) for f in measure["indicators"]}
    charts = page.locator("#charts svg[role=img]")
    expect(charts).to_have_count(len(series))
    for index in range(len(series)):
        chart = charts.nth(index)
        expect(chart.locator("title")).not_to_be_empty()
        expect(chart.locator("circle")).not_to_have_count(0)
    expect(page.locator("#charts table.visually-hidden")).to_have_count(len(series))
    expect(page.locator("#indicators tbody tr")).to_have_count(len(measure["indicators"]))

    # History links lead to the other year's measure; the back button returns.
    other = others[0]
    page.locator("#history a").first.click()
    expect(heading).to_contain_text(other["title"])
    expect(heading).to_be_focused()
    assert unquote(page.url.split("#/measure/")[1]) == other["id"]
    page.go_back()
    expect(heading).to_contain_text(f"No {measure['number']}")
    assert unquote(page.url.split("#/measure/")[1]) == measure["id"]
    visit.assert_clean()


def _measure_with_history(port: int, ids: list[str]) -> dict[str, Any]:
    for measure_id in ids:
        node: dict[str, Any] = _api(port, MEASURE, id=measure_id)["node"]
        if len(node["history"]) >= 2 and node["indicators"]:
            return node
    raise AssertionError("no measure on the first page has a history and figures")


def test_keyboard_only(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years))
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "query":
            break
    expect(page.get_by_label("検索語")).to_be_focused()
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    _search_done(page)
    expect(page.locator("#results-heading")).to_be_focused()
    assert _shown_count(page) == _search(three_years)["totalCount"]
    for _ in range(40):  # past the facets to the first result
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.hit h3 a')"):
            break
    title = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    heading = page.locator("#measure-heading")
    expect(heading).to_contain_text(title)
    expect(heading).to_be_focused()
    visit.assert_clean()


def test_every_control_is_labelled(three_years: int, visit: Visit) -> None:
    page = visit.page
    page.goto(_url(three_years, f"#/search?q={QUERY}"))
    _search_done(page)
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select')]
             .filter(control => control.labels.length === 0).map(control => control.outerHTML)"""
    )
    assert unlabelled == []
    years = _api(three_years, LABELS)["fiscalYears"]
    expect(page.locator("#years input[type=checkbox]")).to_have_count(len(years))
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    visit.assert_clean()


def test_api_errors_are_shown(three_years: int, visit: Visit) -> None:
    page = visit.page
    error = page.locator("#error")
    too_long = "市" * 300
    refused = post_graphql(three_years, SEARCH, text=too_long)["errors"][0]["message"]
    page.goto(_url(three_years, f"#/search?q={too_long}"))
    expect(error).to_be_visible()
    expect(error).to_contain_text(refused)
    expect(page.locator("#results")).to_be_hidden()

    box = page.get_by_label("検索語")
    box.fill('"市民')
    box.press("Enter")
    unclosed = post_graphql(three_years, SEARCH, text='"市民')["errors"][0]["message"]
    expect(error).to_contain_text(unclosed)

    page.goto(_url(three_years, "#/measure/nonsense"))
    expect(error).to_contain_text("見つかりません")
    visit.assert_clean()

    # The server gone: the request fails in the network, and the page says so.
    def unreachable(route: Route) -> None:
        route.abort("connectionrefused")

    page.route("**/graphql", unreachable)
    page.goto(_url(three_years, "#/"))
    box.fill(QUERY)
    box.press("Enter")
    expect(error).to_contain_text("サーバーに接続できません")
    for problem in visit.problems:  # the refused fetch, and the console's note of it
        assert "/graphql" in problem or "Failed to load resource" in problem, problem


def test_no_index_built(tmp_path_factory: pytest.TempPathFactory, visit: Visit) -> None:
    """An archive whose index was never built: the form still loads, a search says why."""
    settings: Settings = settings_for(tmp_path_factory.mktemp("no-index"))
    with serving(settings) as port:
        body = post_graphql(port, SEARCH, text=QUERY)
        assert body["errors"][0]["extensions"]["code"] == "INDEX_UNAVAILABLE"
        page = visit.page
        page.goto(_url(port, f"#/search?q={QUERY}"))
        expect(page.locator("#error")).to_contain_text(body["errors"][0]["message"])
        expect(page.locator("#error")).to_contain_text("plan-archive reindex")
        visit.assert_clean()
