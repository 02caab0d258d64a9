"""The search page at / in headless Chromium, against the real server over three years of
reports. Every number the page shows is checked against what GraphQL answers for the same
question, asked by the test itself."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Page, Route, expect

from server.settings import Settings
from tests import variants
from tests.browser.conftest import Visit
from tests.conftest import REPORTS, SAMPLE, archive_of, post_graphql, serving, settings_for

pytestmark = pytest.mark.browser

JA = "ja-JP"  # the Accept-Language of the browser the tests drive (locale ja-JP)
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
FIRST_HIT = """query($text: String!) { search(query: $text, first: 1) {
  edges { node { fiscalYear document { municipality } } } } }"""


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
    status = page.locator("#status")
    page.get_by_role("link", name="次のページ").click()
    second = _search(three_years, after=first["pageInfo"]["endCursor"])
    expect(page).to_have_url(re.compile("after="))
    expect(status).to_contain_text(f"（11〜{10 + len(second['edges'])}件目）")
    assert _hit_ids(page) == [e["node"]["id"] for e in second["edges"]]
    page.get_by_role("link", name="前のページ").click()
    expect(page).not_to_have_url(re.compile("after="))
    expect(status).to_contain_text(f"（1〜{len(first['edges'])}件目）")
    assert _hit_ids(page) == from_api

    # A year's facet filters to that year, and the URL keeps it across a reload.
    labels = {str(y["year"]): y["label"] for y in _api(three_years, LABELS)["fiscalYears"]}
    facet = first["facets"]["fiscalYears"][-1]
    page.locator("#facet-years").get_by_role(
        "button", name=f"{labels[facet['value']]}（{facet['count']}件）"
    ).click()
    expect(page).to_have_url(re.compile(f"fiscalYear={facet['value']}"))
    expect(status).to_contain_text(f"{facet['count']}件（")
    filtered = _search(three_years, filter={"fiscalYears": [int(facet["value"])]})
    assert _shown_count(page) == filtered["totalCount"] == facet["count"]
    assert len(_hit_ids(page)) == min(facet["count"], 10)
    page.reload()
    _search_done(page)
    assert _shown_count(page) == filtered["totalCount"]
    expect(page.get_by_label(labels[facet["value"]], exact=True)).to_be_checked()
    expect(page.get_by_label("検索語")).to_have_value(QUERY)

    # A department's facet (over the unfiltered search) filters to it.
    page.get_by_label(labels[facet["value"]], exact=True).uncheck()
    page.get_by_role("button", name="検索").click()
    expect(page.locator("#status")).to_contain_text(f"{first['totalCount']}件（")
    department = first["facets"]["departments"][0]
    page.locator("#facet-departments").get_by_role(
        "button", name=f"{department['value']}（{department['count']}件）"
    ).click()
    expect(page.get_by_label("担当部課所", exact=True)).to_have_value(department["value"])
    assert _shown_count(page) == department["count"]

    # A measure with a history and figures: its page links every other year, and draws one
    # chart per labelled figure of it (a label and unit the API's indicatorSeries follows;
    # tests/browser/test_measure_charts.py checks which figures are charts and which a table).
    measure = _measure_with_history(three_years, from_api)
    page.goto(_url(three_years, f"#/measure/{measure['id']}"))
    heading = page.locator("#measure-heading")
    expect(heading).to_contain_text(measure["title"])
    others = [m for m in measure["history"] if m["id"] != measure["id"]]
    expect(page.locator("#history a")).to_have_count(len(others))
    series = {(f["label"], f["unit"]) for f in measure["indicators"] if f["label"]}
    # Each drawing is hidden from assistive technology; its one text alternative is a table.
    charts = page.locator("#charts svg")
    expect(charts).to_have_count(len(series))
    for index in range(len(series)):
        chart = charts.nth(index)
        expect(chart).to_have_attribute("aria-hidden", "true")
        expect(chart.locator(":scope > title")).not_to_be_empty()
        expect(chart.locator("circle")).not_to_have_count(0)
    expect(page.locator("#charts table.visually-hidden")).to_have_count(len(series))
    expect(page.locator("#charts table caption")).to_have_count(len(series))
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
    opened = page.evaluate("document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    heading = page.locator("#measure-heading")
    expect(heading).to_contain_text(title)
    expect(heading).to_be_focused()
    # Back: the focus returns to the result that was opened, not to the top of the list.
    page.go_back()
    expect(page.locator(f'#hits a[href="{opened}"]')).to_be_focused()
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


def _japanese(text: str) -> str:
    """``text``, after checking it is a Japanese message: it holds kana or kanji, and no
    three English words in a row (syntax such as ``fiscalYear:2020`` or ``OR`` may appear)."""
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), text
    assert re.search(r"[A-Za-z]+\s+[A-Za-z]+\s+[A-Za-z]+", text) is None, text
    return text


def test_api_errors_are_shown(three_years: int, visit: Visit) -> None:
    """Refusals are shown in Japanese (#18 point 1): the API's reason, in Japanese when it
    answers so, else put in Japanese by the page (by its wording or its code)."""
    page = visit.page
    error = page.locator("#error")
    too_long = "市" * 300
    # The page's browser says Accept-Language: ja-JP, so the API refuses it in Japanese.
    refused = post_graphql(three_years, SEARCH, text=too_long, accept_language=JA)["errors"][0]
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    page.goto(_url(three_years, f"#/search?q={too_long}"))
    expect(error).to_be_visible()
    expect(error).to_contain_text(refused["message"])
    expect(error).to_contain_text("256文字")
    _japanese(error.inner_text())
    expect(page.locator("#results")).to_be_hidden()

    box = page.get_by_label("検索語")
    for query, says in [
        ('"市民', "引用符"),
        ("市民 OR", "OR"),
        ("市民 AND", "AND"),
        ("fiscalYear:令和x", "年度"),  # English quoting Japanese is still English
    ]:
        box.fill(query)
        box.press("Enter")
        expect(error).to_contain_text(says)
        expect(error).to_contain_text("検索できませんでした")
        _japanese(error.inner_text())

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
    # A server that does not follow the store's log (PLAN_ARCHIVE_INDEX_POLL=0) builds no
    # index by itself (#19): one that does would build this empty archive's at once.
    settings: Settings = settings_for(
        tmp_path_factory.mktemp("no-index"), PLAN_ARCHIVE_INDEX_POLL="0"
    )
    with serving(settings) as port:
        body = post_graphql(port, SEARCH, text=QUERY, accept_language=JA)
        assert body["errors"][0]["extensions"]["code"] == "INDEX_UNAVAILABLE"
        page = visit.page
        page.goto(_url(port, f"#/search?q={QUERY}"))
        expect(page.locator("#error")).to_contain_text("検索索引がまだありません")
        expect(page.locator("#error")).to_contain_text("plan-archive reindex")
        _japanese(page.locator("#error").inner_text())
        visit.assert_clean()


def _fail_requests(page: Page, marker: str, message: str) -> None:
    """Answer every GraphQL request whose document contains ``marker`` with a GraphQL error,
    as the server does when it refuses one; every other request goes to the real server."""

    def handle(route: Route) -> None:
        if marker in (route.request.post_data or ""):
            body = {"data": None, "errors": [{"message": message}]}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        else:
            route.continue_()

    page.route("**/graphql", handle)


def test_a_failed_chart_request_keeps_the_measure(three_years: int, visit: Visit) -> None:
    page = visit.page
    first = _search(three_years)
    measure = _measure_with_history(three_years, [e["node"]["id"] for e in first["edges"]])
    _fail_requests(page, "indicatorSeries", "series refused")
    page.goto(_url(three_years, f"#/measure/{measure['id']}"))
    expect(page.locator("#measure")).to_be_visible()
    expect(page.locator("#measure-heading")).to_contain_text(measure["title"])
    section = page.locator("#charts-section")
    expect(section).to_be_visible()
    # An English refusal without a code is not shown as such: the page says it in Japanese.
    expect(section).to_contain_text(
        "数値の推移を読み込めませんでした: サーバーが要求を受け付けませんでした。"
    )
    expect(page.locator("#charts svg")).to_have_count(0)
    expect(page.locator("#indicators tbody tr")).to_have_count(len(measure["indicators"]))
    expect(page.locator("#error")).to_be_hidden()
    visit.assert_clean()


def test_a_refused_measure_says_so_in_measure_words(three_years: int, visit: Visit) -> None:
    page = visit.page
    # A refusal the API gives in Japanese is shown as it is.
    _fail_requests(page, "query Measure(", "この施策は読み出せません")
    page.goto(_url(three_years, "#/measure/whatever"))
    expect(page.locator("#error")).to_have_text(
        "施策を表示できませんでした: この施策は読み出せません"
    )
    expect(page.locator("#measure")).to_be_hidden()
    visit.assert_clean()


def test_a_malformed_measure_link_is_an_error_not_the_old_view(
    three_years: int, visit: Visit
) -> None:
    page = visit.page
    page.goto(_url(three_years, f"#/search?q={QUERY}"))
    _search_done(page)
    page.evaluate("location.hash = '#/measure/%E0%A4%A'")
    expect(page.locator("#error")).to_contain_text("このリンクは壊れているため開けません")
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#measure")).to_be_hidden()
    visit.assert_clean()  # no uncaught "URI malformed"


def _delete_report(settings: Settings, municipality: str, fiscal_year: int) -> None:
    """Delete one report through the store and bring the index up to it, as the CLI does."""
    from archive.db import reader, writer
    from archive.ingest import delete_document, find_document
    from index.writing import apply_pending
    from server.resources import open_store

    engine = open_store(settings)
    try:
        with writer(engine)() as db, db.begin():
            document = find_document(db, municipality, fiscal_year)
            assert document is not None
            delete_document(db, document.id)
        apply_pending(reader(engine), settings.index_dir)
    finally:
        engine.dispose()


def test_a_refused_cursor_leads_back_to_the_first_page(
    tmp_path_factory: pytest.TempPathFactory, visit: Visit
) -> None:
    """A next-page link made before the results changed under it: the API refuses its cursor
    (CURSOR_EXPIRED), and the page says so with a link to the first page of the same search."""
    data_dir = tmp_path_factory.mktemp("stale-cursor")
    settings = archive_of(data_dir, REPORTS[:2])
    with serving(settings) as port:
        page = visit.page
        page.goto(_url(port, "#/search?q=情報"))
        _search_done(page)
        assert _api(port, SEARCH, text="情報")["search"]["pageInfo"]["hasNextPage"], (
            "the query must need two pages"
        )
        # The report of the first hit goes: the hits before the next page's cursor change.
        top = _api(port, FIRST_HIT, text="情報")["search"]["edges"][0]["node"]
        _delete_report(settings, top["document"]["municipality"], top["fiscalYear"])
        page.get_by_role("link", name="次のページ").click()
        error = page.locator("#error")
        expect(error).to_contain_text("検索し直す必要があります")
        expect(page.locator("#results")).to_be_hidden()
        error.get_by_role("link", name="1ページ目から検索し直す").click()
        expect(page).not_to_have_url(re.compile("after="))
        expect(page.locator("#status")).to_contain_text(
            f"{_api(port, SEARCH, text='情報')['search']['totalCount']}件（1〜"
        )
        expect(error).to_be_hidden()
        visit.assert_clean()


def test_markup_in_a_report_is_shown_as_text(
    tmp_path_factory: pytest.TempPathFactory, visit: Visit
) -> None:
    """A report whose text holds HTML: the results and the measure page show it as text, and
    nothing of it runs (and the CSP's Trusted Types refuse any string-to-markup sink)."""
    data_dir = tmp_path_factory.mktemp("markup")
    report = data_dir / "markup.txt"
    report.write_bytes(variants.markup_in_text(SAMPLE.read_text(encoding="utf-8")))
    with serving(archive_of(data_dir / "archive", [report])) as port:
        page = visit.page
        page.goto(_url(port, "#/search?q=市長"))
        _search_done(page)
        link = page.get_by_role("link", name=variants.MARKUP_TITLE)
        expect(link).to_have_text(variants.MARKUP_TITLE)
        fragments = page.locator(".hit").filter(has=link).locator(".fragment")
        expect(fragments.filter(has_text="市長の<script>window.__xss=2</script>")).to_have_count(1)
        expect(fragments.filter(has_text='<b onmouseover="window.__xss=3">市政情報')).to_have_count(
            1
        )
        expect(page.locator("main img, main script, main b")).to_have_count(0)
        link.click()
        expect(page.locator("#measure-heading")).to_contain_text(variants.MARKUP_TITLE)
        expect(page.locator("#measure-fields")).to_contain_text(variants.MARKUP_DESCRIPTION)
        expect(page.locator("main img, main script, main b")).to_have_count(0)
        assert page.evaluate("typeof window.__xss") == "undefined"
        refused = page.evaluate(
            "() => { try { document.body.innerHTML = '<i>x</i>'; return 'allowed'; }"
            " catch (error) { return error.name; } }"
        )
        assert refused == "TypeError"
        visit.problems = [p for p in visit.problems if "TrustedHTML" not in p]
        visit.assert_clean()


def test_blank_and_empty_parameters(three_years: int, visit: Visit) -> None:
    """A query of blanks is no search; "year=" is no year (not year 0)."""
    page = visit.page
    page.goto(_url(three_years, "#/search?q=%20%20"))
    expect(page.locator("#years input").first).to_be_attached()
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#status")).to_be_empty()
    page.goto(_url(three_years, f"#/search?q={QUERY}&year="))
    _search_done(page)
    assert _shown_count(page) == _search(three_years)["totalCount"]
    visit.assert_clean()


def test_choices_that_fail_to_load_are_reported(three_years: int, visit: Visit) -> None:
    page = visit.page
    _fail_requests(page, "fiscalYears { year label }", "choices refused")
    page.goto(_url(three_years))
    expect(page.locator("#error")).to_have_text(
        "年度と担当部課所を読み込めませんでした: サーバーが要求を受け付けませんでした。"
    )
    expect(page.locator("#years")).to_contain_text("年度を読み込めませんでした。")
    visit.assert_clean()


def test_focus_and_matches_are_visible(three_years: int, visit: Visit) -> None:
    """The focus ring on the blue header is white; a match is bold as well as yellow."""
    page = visit.page
    page.goto(_url(three_years, f"#/search?q={QUERY}"))
    _search_done(page)
    home = page.locator("header.site a").first
    page.keyboard.press("Tab")
    expect(home).to_be_focused()
    assert home.evaluate("a => getComputedStyle(a).outlineColor") == "rgb(255, 255, 255)"
    mark = page.locator("#hits mark").first
    assert int(mark.evaluate("m => getComputedStyle(m).fontWeight")) >= 600
    visit.assert_clean()
