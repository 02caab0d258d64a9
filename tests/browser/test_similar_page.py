"""The measure page's "似ている施策" list in headless Chromium (#17 point 4), against the real
server over Hitachi's three years and a near-copy of its 2020 report under another city's
name: the list is what ``Measure.similar`` answers, each item links to its measure with its
municipality and year."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Visit
from tests.conftest import REPORTS, SAMPLE, archive_of, post_graphql, serving
from tests.variants import city_name, other_city

pytestmark = pytest.mark.browser

NEAR = city_name(1)
CHANGED = ("市内２か所の「元気 café カフェ」で", "市内３か所の「元気 café カフェ」で")
MEASURES = """query { measures(first: 50, filter: {fiscalYears: [2020]}) {
  edges { node { id number title municipality } } } }"""
SIMILAR = """query($id: ID!) { node(id: $id) { ... on Measure {
  history { id } similar(first: 5) { score measure { id fiscalYear number title municipality } }
} } }"""


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("similar-page")
    near = folder / "near.txt"
    near.write_bytes(other_city(SAMPLE.read_text(encoding="utf-8").replace(*CHANGED), 1))
    with serving(archive_of(folder / "data", [*REPORTS, near])) as port:
        yield port


def _api(port: int, query: str, **variables: Any) -> dict[str, Any]:
    body = post_graphql(port, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _hitachi(port: int, number: str) -> dict[str, Any]:
    edges = _api(port, MEASURES)["measures"]["edges"]
    return next(
        e["node"]
        for e in edges
        if e["node"]["number"] == number and e["node"]["municipality"] == "日立市"
    )


def _open(page: Page, port: int, measure: dict[str, Any]) -> None:
    page.goto(f"http://127.0.0.1:{port}/#/measure/{measure['id']}")
    expect(page.locator("#measure-heading")).to_contain_text(measure["title"])


def test_similar_measures_are_listed_and_link_to_them(cities: int, visit: Visit) -> None:
    page = visit.page
    measure = _hitachi(cities, "05")
    answer = _api(cities, SIMILAR, id=measure["id"])["node"]
    similar = answer["similar"]
    assert similar[0]["measure"]["municipality"] == NEAR
    _open(page, cities, measure)
    items = page.locator("#similar li")
    expect(items).to_have_count(len(similar))
    expect(page.get_by_role("heading", name="似ている施策")).to_be_visible()
    history = {m["id"] for m in answer["history"]}
    for index, found in enumerate(similar):
        other = found["measure"]
        item = items.nth(index)
        expect(item).to_contain_text(other["municipality"])
        expect(item).to_contain_text(f"No {other['number']} {other['title']}")
        expect(item).to_contain_text(f"類似度 {found['score']:.2f}")
        href = item.locator("a").get_attribute("href")
        assert href is not None
        assert unquote(href.removeprefix("#/measure/")) == other["id"]
        assert other["id"] not in history
    # The year as the page labels years (令和2年度), for the near-copy of 2020.
    expect(items.first).to_contain_text(f"{NEAR} 令和2年度 No 05")
    expect(page.locator("#no-similar")).to_be_hidden()

    # The first item leads to the near-copy's own page, whose list leads back.
    items.first.locator("a").click()
    heading = page.locator("#measure-heading")
    expect(heading).to_contain_text(similar[0]["measure"]["title"])
    expect(heading).to_be_focused()
    assert unquote(page.url.split("#/measure/")[1]) == similar[0]["measure"]["id"]
    expect(page.locator("#similar li").first).to_contain_text("日立市 令和2年度 No 05")
    page.go_back()
    expect(page.locator("#similar li")).to_have_count(len(similar))
    visit.assert_clean()


def test_a_failed_similar_request_keeps_the_measure(cities: int, visit: Visit) -> None:
    page = visit.page
    measure = _hitachi(cities, "06")

    def refuse(route: Route) -> None:
        if "similar(" in (route.request.post_data or ""):
            route.fulfill(
                status=200,
                content_type="application/json",
                body='{"data": null, "errors": [{"message": "the search took too long",'
                ' "extensions": {"code": "SEARCH_TIMEOUT"}}]}',
            )
        else:
            route.continue_()

    page.route("**/graphql", refuse)
    _open(page, cities, measure)
    note = page.locator("#similar-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("似ている施策を読み込めませんでした")
    expect(page.locator("#similar li")).to_have_count(0)
    expect(page.locator("#measure-fields")).to_contain_text("防災対策課")
    expect(page.locator("#history li")).not_to_have_count(0)
