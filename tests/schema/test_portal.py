"""What a portal needs, on three years of Hitachi reports, through the real ASGI app: filters,
ordering, documents with their measures and pillars, node(id) for every type, history, and
no per-row queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from archive.lineage import Lineages
from server.settings import Settings
from tests.conftest import SAMPLE, AppClient, graphql


@pytest.fixture
def portal(three_years_archive: Settings, app_client: AppClient) -> Iterator[TestClient]:
    with app_client(three_years_archive) as client:
        yield client


def _measures(client: TestClient, **variables: Any) -> dict[str, Any]:
    query = """query($filter: MeasureFilter, $order: MeasureOrder, $first: Int, $after: String) {
      measures(filter: $filter, orderBy: $order, first: $first, after: $after) {
        totalCount edges { cursor node { fiscalYear number title municipality } }
        pageInfo { hasNextPage endCursor } } }"""
    body = graphql(client, query, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["measures"]
    return result


def test_filters(portal: TestClient) -> None:
    assert _measures(portal)["totalCount"] == 36
    assert _measures(portal, filter={"fiscalYearFrom": 2020})["totalCount"] == 24
    assert (
        _measures(portal, filter={"fiscalYearFrom": 2020, "fiscalYearTo": 2020})["totalCount"] == 12
    )
    assert _measures(portal, filter={"municipalities": ["水戸市"]})["totalCount"] == 0
    completed = _measures(portal, filter={"nextYearStatuses": ["完了"]})
    assert [(e["node"]["fiscalYear"], e["node"]["number"]) for e in completed["edges"]] == [
        (2019, "12")
    ]
    security = _measures(portal, filter={"pillars": ["強靭な情報セキュリティの構築"]})
    assert {e["node"]["fiscalYear"] for e in security["edges"]} == {2019, 2020, 2021}
    renamed = _measures(portal, filter={"departments": ["行政改革推進課"]})
    assert {e["node"]["fiscalYear"] for e in renamed["edges"]} == {2019}


def test_descending_order_pages_the_other_way(portal: TestClient) -> None:
    seen: list[tuple[int, str]] = []
    after = None
    while True:
        page = _measures(portal, order="FISCAL_YEAR_DESC", first=7, after=after)
        seen += [(e["node"]["fiscalYear"], e["node"]["number"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 36
    assert seen == sorted(seen, reverse=True)
    ascending_cursor = _measures(portal, first=1)["pageInfo"]["endCursor"]
    body = graphql(
        portal,
        "query($a: String) { measures(orderBy: FISCAL_YEAR_DESC, after: $a) { totalCount } }",
        a=ascending_cursor,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_document_with_its_measures_pillars_and_text(portal: TestClient) -> None:
    body = graphql(
        portal,
        """{ documents { id fiscalYear sourceName rawText text
             pillars { id number title }
             measures(first: 2) { totalCount edges { node { number pillar { number } } } } } }""",
    )
    documents = body["data"]["documents"]
    assert [d["fiscalYear"] for d in documents] == [2019, 2020, 2021]
    fy2020 = documents[1]
    assert fy2020["sourceName"] == SAMPLE.name
    assert fy2020["rawText"] == SAMPLE.read_text(encoding="utf-8")
    assert "情報を市民等に" in fy2020["text"]  # rejoined across the PDF's line wrap
    assert [p["number"] for p in fy2020["pillars"]] == [1, 2, 3, 4, 5]
    assert fy2020["measures"]["totalCount"] == 12
    assert [e["node"]["number"] for e in fy2020["measures"]["edges"]] == ["01", "02"]


def test_node_finds_every_type(portal: TestClient) -> None:
    body = graphql(
        portal,
        """{ documents { id pillars { id } }
             departments { id }
             measures(first: 1) { edges { node { id } } } }""",
    )["data"]
    ids = [
        body["documents"][0]["id"],
        body["documents"][0]["pillars"][0]["id"],
        body["departments"][0]["id"],
        body["measures"]["edges"][0]["node"]["id"],
    ]
    for global_id in ids:
        node = graphql(portal, "query($id: ID!) { node(id: $id) { id } }", id=global_id)
        assert node["data"]["node"] == {"id": global_id}
    for missing in ("TWVhc3VyZTo5OTk5OQ==", "not-an-id", "Rm9vOjE="):
        assert graphql(portal, "query($id: ID!) { node(id: $id) { id } }", id=missing)["data"] == {
            "node": None
        }


def _history(portal: TestClient, year: int, number: str) -> list[tuple[int, str]]:
    query = """query($filter: MeasureFilter) { measures(filter: $filter, first: 100) {
        edges { node { number history { fiscalYear number } } } } }"""
    body = graphql(portal, query, filter={"fiscalYears": [year]})
    node = next(
        e["node"] for e in body["data"]["measures"]["edges"] if e["node"]["number"] == number
    )
    return [(h["fiscalYear"], h["number"]) for h in node["history"]]


def test_history_follows_renumbered_and_retitled_measures(portal: TestClient) -> None:
    # RPA: No 10 in 2019, No 09 in 2020, No 08 in 2021 (tests/fixtures/README.md).
    assert _history(portal, 2020, "09") == [(2019, "10"), (2020, "09"), (2021, "08")]
    # SNS by the mayor: retitled in 2019 (no 「の充実」), same number.
    assert _history(portal, 2020, "01") == [(2019, "01"), (2020, "01"), (2021, "01")]
    # Dropped in 2021: 高齢者向け行政番組.
    assert _history(portal, 2020, "04") == [(2019, "04"), (2020, "04")]
    # New in 2021: キャッシュレス決済 is alone; ended in 2019: the Windows 7 update is alone.
    assert _history(portal, 2021, "11") == [(2021, "11")]
    assert _history(portal, 2019, "12") == [(2019, "12")]


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(portal: TestClient) -> None:
    graphql_app = next(route.app for route in portal.app.routes if route.path == "/graphql")  # type: ignore[attr-defined]
    query = """query($first: Int) { measures(first: $first) { edges { node {
        number departments { name } history { number departments { name } } pillar { title }
        carryOverFlags indicators { value } indicatorSeries(unit: "件") { value }
        document { title measureCount } } } } }"""
    counts = []
    statements: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    for size in (3, 30):
        statements.clear()
        graphql_app.lineages = Lineages()  # each page works its histories out from nothing
        event.listen(graphql_app.engine, "before_cursor_execute", count)
        try:
            body = graphql(portal, query, first=size)
        finally:
            event.remove(graphql_app.engine, "before_cursor_execute", count)
        assert len(body["data"]["measures"]["edges"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_department_lists_its_measures_over_the_years(portal: TestClient) -> None:
    body = graphql(
        portal,
        """{ departments { name measures(first: 50, orderBy: FISCAL_YEAR_DESC) {
             totalCount edges { node { fiscalYear number } } } } }""",
    )
    by_name = {d["name"]: d["measures"] for d in body["data"]["departments"]}
    secretary = by_name["秘書課"]
    assert secretary["totalCount"] == 3
    assert [e["node"]["fiscalYear"] for e in secretary["edges"]] == [2021, 2020, 2019]
