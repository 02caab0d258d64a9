"""The measures list through the real ASGI app: fields, filters, cursor pagination, errors."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from archive import queries
from archive.db import create_store_engine
from schema.connections import archive_filter
from schema.types import MeasureFilter
from tests.conftest import AppClient, graphql, settings_for
from tests.schema.test_sdl import SDL_FILE

PAGE = """
query Page($first: Int, $after: String, $filter: MeasureFilter) {
  measures(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id fiscalYear number title departments { name } document { municipality } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_walking_every_page_yields_every_measure_once(client: TestClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = graphql(client, PAGE, first=5, after=after)["data"]["measures"]
        assert page["totalCount"] == 12
        seen += [edge["node"]["number"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"{n:02d}" for n in range(1, 13)]


def test_measure_fields(client: TestClient) -> None:
    node = graphql(client, PAGE, first=1)["data"]["measures"]["edges"][0]["node"]
    assert node["fiscalYear"] == 2020
    assert node["title"] == "SNSを活用した市長による情報発信の充実"
    assert node["departments"] == [{"name": "秘書課"}]
    assert node["document"] == {"municipality": "日立市"}


def test_filter_by_department_and_year(client: TestClient) -> None:
    page = graphql(client, PAGE, filter={"departments": ["政策企画課"], "fiscalYears": [2020]})
    numbers = [edge["node"]["number"] for edge in page["data"]["measures"]["edges"]]
    assert numbers == ["07", "08"]
    empty = graphql(client, PAGE, filter={"fiscalYears": [2019]})["data"]["measures"]
    assert (empty["totalCount"], empty["edges"], empty["pageInfo"]["endCursor"]) == (0, [], None)


def test_bad_cursor_and_page_size_are_bad_user_input(client: TestClient) -> None:
    for variables in ({"after": "not-a-cursor"}, {"first": 0}, {"first": 101}):
        body = graphql(client, PAGE, **variables)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_node_finds_a_measure_by_its_id(client: TestClient) -> None:
    first = graphql(client, PAGE, first=1)["data"]["measures"]["edges"][0]["node"]
    body = graphql(
        client, "query($id: ID!) { node(id: $id) { ... on Measure { number } } }", id=first["id"]
    )
    assert body["data"]["node"] == {"number": "01"}


def test_fiscal_years_departments_documents(client: TestClient) -> None:
    data = graphql(
        client,
        "{ fiscalYears { year label measureCount } departments { name }"
        " documents { municipality fiscalYear measureCount } }",
    )["data"]
    assert data["fiscalYears"] == [{"year": 2020, "label": "令和2年度", "measureCount": 12}]
    names = [d["name"] for d in data["departments"]]
    assert names == sorted(names)
    assert len(names) == 8
    assert data["documents"] == [{"municipality": "日立市", "fiscalYear": 2020, "measureCount": 12}]


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_no_error_leaks_internals(client: TestClient) -> None:
    body = graphql(client, "{ measures(first: 1) { edges { node { nope } } } }")
    text = str(body)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    for leak in ("Traceback", "SELECT", "/work", str(SDL_FILE.parent)):
        assert leak not in text


def test_get_serves_queries_at_the_exact_path(client: TestClient) -> None:
    response = client.get(
        "/graphql", params={"query": "{ fiscalYears { year } }"}, follow_redirects=False
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"fiscalYears": [{"year": 2020}]}}


def test_an_unexpected_failure_is_masked_as_internal(tmp_path: Path, app_client: AppClient) -> None:
    """A real fault in the store (its measures table gone) reaches the client as INTERNAL
    with a generic message: no SQL, no traceback, no path."""
    settings = settings_for(tmp_path)
    with app_client(settings) as client:
        engine = create_store_engine(settings.database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE measure_departments"))
            connection.execute(text("DROP TABLE measures"))
        engine.dispose()
        body = graphql(client, "{ measures { totalCount } }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["message"] == "Internal server error."
    for leak in ("SELECT", "sqlite", "Traceback", str(tmp_path), "no such table"):
        assert leak not in str(body)


def test_syntax_errors_have_a_code(client: TestClient) -> None:
    body = client.post("/graphql", json={"query": "{"}).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_departments_read_with_the_page_whether_asked_directly_or_in_fragments(
    client: TestClient,
) -> None:
    # measure_page reads a page's departments with it when the selection asks for
    # them (schema/measure_pages.py): fragments must be looked into, and the answer is the
    # same as through the per-measure loader (which a node's departments still use).
    direct = graphql(client, PAGE, first=12)["data"]["measures"]["edges"]
    fragments = """
    fragment Names on Measure { departments { name } }
    query { measures(first: 12) { ... on MeasureConnection {
      edges { node { number ...Names } } } } }"""
    through = graphql(client, fragments)["data"]["measures"]["edges"]
    expected = [(e["node"]["number"], e["node"]["departments"]) for e in direct]
    assert [(e["node"]["number"], e["node"]["departments"]) for e in through] == expected
    node = (
        """query($id: ID!) { node(id: $id) { ... on Measure { number departments { name } } } }"""
    )
    first = graphql(client, node, id=direct[6]["node"]["id"])["data"]["node"]
    assert first["departments"] == direct[6]["node"]["departments"]
    assert any(len(e["node"]["departments"]) > 1 for e in direct)


def test_ingested_at_is_utc_with_its_offset(client: TestClient) -> None:
    documents = graphql(client, "{ documents { ingestedAt } }")["data"]["documents"]
    assert documents
    now = datetime.now(UTC)
    for document in documents:
        stored = datetime.fromisoformat(document["ingestedAt"])
        assert document["ingestedAt"].endswith("+00:00")
        assert stored.utcoffset() == timedelta(0)
        assert now - timedelta(days=1) < stored <= now  # stored by this run, in UTC


PAGES = """query($after: String) { measures(first: 2, after: $after) {
  edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
SEARCH_PAGES = """query($after: String) { search(query: "市民", first: 2, after: $after) {
  edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def test_page_info_has_both_ends(client: TestClient) -> None:
    for query, root in ((PAGES, "measures"), (SEARCH_PAGES, "search")):
        first = graphql(client, query)["data"][root]
        info = first["pageInfo"]
        cursors = [edge["cursor"] for edge in first["edges"]]
        assert (info["startCursor"], info["endCursor"]) == (cursors[0], cursors[-1])
        assert info["hasPreviousPage"] is False
        assert info["hasNextPage"] is True
        second = graphql(client, query, after=info["endCursor"])["data"][root]
        assert second["pageInfo"]["hasPreviousPage"] is True
        assert second["pageInfo"]["startCursor"] == second["edges"][0]["cursor"]
        assert second["pageInfo"]["startCursor"] not in cursors


def test_every_condition_of_the_api_filter_reaches_the_store() -> None:
    """``archive_filter`` passes the API's conditions by name: each is one of the store's."""
    given: dict[str, Any] = {f.name: [f.name] for f in fields(MeasureFilter)}
    store = archive_filter(MeasureFilter(**given))
    assert {name: getattr(store, name) for name in given} == given
    assert archive_filter(None) == queries.MeasureFilter()
