"""A measure's figures over the years (#18 point 6) in headless Chromium, over three years of
reports: one chart per labelled figure whose series has one value a year, every value written
at its point, a y axis from 0 with evenly spaced ticks, years as R1… with 令和 and the Western
year on hover; figures without a label (or two in one year) are a table, never a line. What
is expected is worked out from the API's own answers (indicators, indicatorSeries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
import itertools

from playwright.sync_api import Page, expect

from tests.browser.conftest import Visit
from tests.conftest import post_graphql

pytestmark = pytest.mark.browser

MEASURES = """{ measures(first: 100) { edges { node {
  id fiscalYear number history { fiscalYear } indicators { label unit } } } } }"""
SERIES = """query($id: ID!, $label: String, $unit: String) { node(id: $id) { ... on Measure {
  indicatorSeries(label: $label, unit: $unit) { label fiscalYear value } } } }"""
LABELS = "{ fiscalYears { year label } }"


def _api(port: int, query: str, **variables: Any) -> dict[str, Any]:
    body = post_graphql(port, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _plan(port: int, measure: dict[str, Any]) -> tuple[list[tuple[str, str]], int]:
    """What the page should draw for ``measure``: the (label, unit) of each chart, in the order
    of its figures, and how many figures over the years go to the table instead."""
    charts: list[tuple[str, str]] = []
    listed = 0
    for label, unit in dict.fromkeys((f["label"], f["unit"]) for f in measure["indicators"]):
        found = _api(port, SERIES, id=measure["id"], label=label, unit=unit)
        points = [p for p in found["node"]["indicatorSeries"] if p["label"] == label]
        years = [p["fiscalYear"] for p in points]
        if label and len(set(years)) == len(years):
            charts.append((label, unit))
        else:
            listed += len(points)
    return charts, listed


def _measures(port: int) -> list[dict[str, Any]]:
    return [e["node"] for e in _api(port, MEASURES)["measures"]["edges"]]


def _open(page: Page, port: int, measure: dict[str, Any]) -> None:
    page.goto(f"http://127.0.0.1:{port}/#/measure/{measure['id']}")
    expect(page.locator("#measure-heading")).to_contain_text(f"No {measure['number']}")
    expect(page.locator("#charts-section")).to_be_visible()


def _no_sideways_scroll(page: Page) -> None:
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"the page scrolls sideways: {scroll} > {client}"


def test_labelled_figures_are_charts_with_values_and_axes(
    three_years: int, visit: Visit, tmp_path: Path
) -> None:
    page = visit.page
    labels = {y["year"]: y["label"] for y in _api(three_years, LABELS)["fiscalYears"]}
    measure = next(
        m
        for m in _measures(three_years)
        if len(m["history"]) == 3 and m["indicators"] and all(f["label"] for f in m["indicators"])
    )
    charts, listed = _plan(three_years, measure)
    assert charts
    assert listed == 0
    page.set_viewport_size({"width": 1280, "height": 900})
    _open(page, three_years, measure)
    figures = page.locator("#charts figure")
    expect(figures).to_have_count(len(charts))
    expect(page.locator("#charts figcaption")).to_have_text([f"{lb}（{u}）" for lb, u in charts])
    years = [m["fiscalYear"] for m in measure["history"]]
    for (label, unit), figure in zip(charts, figures.all(), strict=True):
        found = _api(three_years, SERIES, id=measure["id"], label=label, unit=unit)
        points = [p for p in found["node"]["indicatorSeries"] if p["label"] == label]
        svg = figure.locator("svg")
        expect(svg).to_have_attribute("aria-hidden", "true")
        # Every value is written at its point, and its tooltip names the year both ways.
        expect(svg.locator("g.point")).to_have_count(len(points))
        expect(svg.locator("g.point text.value")).to_have_count(len(points))
        for point, drawn in zip(points, svg.locator("g.point").all(), strict=True):
            year = point["fiscalYear"]
            expect(drawn.locator("title")).to_contain_text(f"{labels[year]}（{year}年度）")
        # One line between each two neighbouring years that both have a value: one series.
        have = {p["fiscalYear"] for p in points}
        joined = sum(1 for a, b in itertools.pairwise(years) if a in have and b in have)
        expect(svg.locator("line.series")).to_have_count(joined)
        # The x axis names each year of the history as R1, R2…; the y axis has round ticks.
        expect(svg.locator("g.year-tick text")).to_have_text([f"R{y - 2018}" for y in years])
        ticks = svg.locator("text.tick").all_text_contents()[: -len(years)]
        assert ticks[0] == "0"
        assert len(ticks) >= 3
        # The visually hidden table, the drawing's text alternative, has a row per year.
        table = figure.locator("table.visually-hidden")
        expect(table.locator("tbody tr")).to_have_count(len(years))
    page.screenshot(path=tmp_path / "measure-charts-1280.png", full_page=True)
    visit.assert_clean()


def test_unlabelled_figures_are_a_table_not_a_line(
    three_years: int, visit: Visit, tmp_path: Path
) -> None:
    page = visit.page
    measure = next(
        m
        for m in _measures(three_years)
        if any(f["label"] for f in m["indicators"]) and any(not f["label"] for f in m["indicators"])
    )
    charts, listed = _plan(three_years, measure)
    assert charts
    assert listed > 0
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, three_years, measure)
    expect(page.locator("#charts figure")).to_have_count(len(charts))
    expect(page.locator("#charts svg")).to_have_count(len(charts))
    table = page.locator("#charts .uncharted table")
    expect(table.locator("tbody tr")).to_have_count(listed)
    expect(table.locator("caption")).to_contain_text("グラフにしない数値")
    page.locator("#charts-section").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "measure-charts-390.png", full_page=True)
    _no_sideways_scroll(page)
    visit.assert_clean()
