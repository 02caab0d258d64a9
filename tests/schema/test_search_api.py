"""The search field through the real ASGI app, on the sample archive."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import graphql

SEARCH = """
query Search($q: String!, $first: Int, $after: String, $filter: MeasureFilter, $order: SearchOrder) {
  search(query: $q, first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor score node { number title } highlights { field fragments } }
    pageInfo { hasNextPage endCursor }
    facets { fiscalYears { value count } departments { value count } }
  }
}
"""


def _search(client: TestClient, q: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, SEARCH, q=q, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["search"]
    return result


def test_search_pages_through_every_hit_once(client: TestClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = _search(client, "市", first=3, after=after)
        assert page["totalCount"] == 8
        seen += [edge["node"]["number"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == ["01", "02", "03", "05", "06", "07", "08", "11"]


def test_highlights_and_facets(client: TestClient) -> None:
    page = _search(client, "人事評価")
    edge = page["edges"][0]
    assert edge["node"]["number"] == "09"
    assert edge["score"] > 0
    assert edge["highlights"][0]["field"] == "achievement"
    assert "<mark>人事評価</mark>" in edge["highlights"][0]["fragments"][0]
    assert page["facets"]["fiscalYears"] == [{"value": "2020", "count": 1}]
    assert page["facets"]["departments"] == [{"value": "行政マネジメント課", "count": 1}]


def test_filter_applies_to_counts_and_facets(client: TestClient) -> None:
    page = _search(client, "市民", filter={"departments": ["秘書課"]})
    assert page["totalCount"] == 1
    assert page["facets"]["departments"] == [{"value": "秘書課", "count": 1}]


def test_bad_query_and_cursor_are_bad_user_input(client: TestClient) -> None:
    for variables in ({"q": '"open'}, {"q": "市", "after": "garbage"}, {"q": "x" * 300}):
        body = graphql(client, SEARCH, **variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


def test_order_by_fiscal_year(client: TestClient) -> None:
    page = _search(client, "市民", order="FISCAL_YEAR_DESC")
    assert page["totalCount"] == 4
