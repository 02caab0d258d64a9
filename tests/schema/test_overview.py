"""``Query.overview`` through the real ASGI app over three years of Hitachi reports: every
count is checked against the store, asked by the test itself in plain SQL (not through
``archive/overview.py``), and a search's overview against the hits ``search`` pages through."""

from __future__ import annotations

from base64 import b64decode
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import graphql

OVERVIEW = """query($text: String, $filter: MeasureFilter) {
  overview(query: $text, filter: $filter) {
    totalCount
    fiscalYears { fiscalYear label count }
    nextYearStatuses { fiscalYear value count }
    pillars { fiscalYear value count }
    departments { fiscalYear value count } } }"""
SEARCH = """query($text: String!, $filter: MeasureFilter, $after: String) {
  search(query: $text, filter: $filter, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
LABELS = "{ fiscalYears { year label } }"

# Each measure once, with its year, next-year status and pillar title; and each
# (measure, department) pair. Departments are counted by their row, as the store keeps them.
MEASURES_SQL = """
SELECT m.id, d.fiscal_year, m.carry_over_status, p.title
FROM measures m JOIN documents d ON d.id = m.document_id
LEFT JOIN pillars p ON p.id = m.pillar_id"""
DEPARTMENTS_SQL = """
SELECT md.measure_id, d.fiscal_year, dep.name
FROM measure_departments md JOIN measures m ON m.id = md.measure_id
JOIN documents d ON d.id = m.document_id JOIN departments dep ON dep.id = md.department_id"""


@pytest.fixture(scope="module")
def client(three_years_archive: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(three_years_archive)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def store(three_years_archive: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """The store's rows, read with SQL of the test's own."""
    engine = create_engine(three_years_archive.database_url)
    try:
        with engine.connect() as connection:
            return {
                "measures": [tuple(row) for row in connection.execute(text(MEASURES_SQL))],
                "departments": [tuple(row) for row in connection.execute(text(DEPARTMENTS_SQL))],
            }
    finally:
        engine.dispose()


def _overview(client: TestClient, **variables: Any) -> dict[str, Any]:
    body = graphql(client, OVERVIEW, **variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["overview"]
    return found


def _counted(items: list[dict[str, Any]]) -> Counter[tuple[int, str | None]]:
    pairs = [(item["fiscalYear"], item["value"]) for item in items]
    assert len(pairs) == len(set(pairs)), "a (year, value) is given once"
    assert all(item["count"] > 0 for item in items), "no empty counts"
    return Counter({(item["fiscalYear"], item["value"]): item["count"] for item in items})


def _expected(
    store: dict[str, list[tuple[Any, ...]]], ids: set[int] | None, years: set[int] | None = None
) -> dict[str, Counter[tuple[int, str | None]]]:
    def wanted(measure_id: int, year: int) -> bool:
        return (ids is None or measure_id in ids) and (years is None or year in years)

    measures = [row for row in store["measures"] if wanted(row[0], row[1])]
    return {
        "years": Counter((year, None) for _, year, _, _ in measures),
        "statuses": Counter((year, status) for _, year, status, _ in measures),
        "pillars": Counter((year, pillar) for _, year, _, pillar in measures),
        "departments": Counter(
            (year, name)
            for measure_id, year, name in store["departments"]
            if wanted(measure_id, year)
        ),
    }


def _check(found: dict[str, Any], expected: dict[str, Counter[tuple[int, str | None]]]) -> None:
    years = Counter({(y["fiscalYear"], None): y["count"] for y in found["fiscalYears"]})
    assert years == expected["years"]
    assert found["totalCount"] == sum(expected["years"].values())
    assert _counted(found["nextYearStatuses"]) == expected["statuses"]
    assert _counted(found["pillars"]) == expected["pillars"]
    assert _counted(found["departments"]) == expected["departments"]
    for name in ("fiscalYears", "nextYearStatuses", "pillars", "departments"):
        listed = [item["fiscalYear"] for item in found[name]]
        assert listed == sorted(listed), f"{name} is by fiscal year"


def test_the_whole_archive(client: TestClient, store: dict[str, list[tuple[Any, ...]]]) -> None:
    found = _overview(client)
    _check(found, _expected(store, None))
    assert len(found["fiscalYears"]) == 3  # the fixtures' three years: the check has content
    labels = {y["year"]: y["label"] for y in graphql(client, LABELS)["data"]["fiscalYears"]}
    assert {y["fiscalYear"]: y["label"] for y in found["fiscalYears"]} == labels
    # Statuses going on come before those that stop, and "none printed" comes last.
    for year in {y["fiscalYear"] for y in found["fiscalYears"]}:
        values = [s["value"] for s in found["nextYearStatuses"] if s["fiscalYear"] == year]
        assert None not in values[:-1]


def test_a_filter(client: TestClient, store: dict[str, list[tuple[Any, ...]]]) -> None:
    found = _overview(client, filter={"fiscalYears": [2020, 2021]})
    _check(found, _expected(store, None, {2020, 2021}))


def _search_ids(client: TestClient, query: str, where: dict[str, Any] | None) -> set[int]:
    ids: list[int] = []
    after = None
    while True:
        body = graphql(client, SEARCH, text=query, filter=where, after=after)
        assert "errors" not in body, body
        page = body["data"]["search"]
        ids += [_database_id(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(ids) == page["totalCount"]
            return set(ids)
        after = page["pageInfo"]["endCursor"]


def _database_id(global_id: str) -> int:
    type_name, number = b64decode(global_id).decode().split(":")
    assert type_name == "Measure"
    return int(number)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("市民", None),
        ("市民", {"fiscalYears": [2021]}),
        ("サービス OR 防災", {"departments": ["秘書課"]}),
        ("fiscalYear:2019..2020", None),
    ],
)
def test_a_search_counts_its_hits(
    client: TestClient,
    store: dict[str, list[tuple[Any, ...]]],
    query: str,
    where: dict[str, Any] | None,
) -> None:
    ids = _search_ids(client, query, where)
    assert ids, "a search with hits: the check has content"
    found = _overview(client, text=query, filter=where)
    _check(found, _expected(store, ids))
    assert found["totalCount"] == len(ids)


def test_a_search_with_no_hits(client: TestClient) -> None:
    found = _overview(client, text="存在しない語ですよ")
    assert found["totalCount"] == 0
    assert found["fiscalYears"] == found["nextYearStatuses"] == found["departments"] == []


def test_a_bad_search_is_refused(client: TestClient) -> None:
    body = graphql(client, OVERVIEW, text='"unclosed')
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
