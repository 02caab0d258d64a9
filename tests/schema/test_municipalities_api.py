"""A document's local government code and prefecture through the real ASGI app: the fields,
the official entry, and the filters of measures and search (on the suite's store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from archive.db import writer
from server.app import create_app
from server.resources import open_store
from tests.conftest import SAMPLE, archive_of, graphql

# 日立市 and かすみがうら市 (茨城県), 府中市 of Tokyo, a ward of Sapporo; 12 measures each.
TITLES = ["日立市", "かすみがうら市", "東京都府中市", "札幌市 中央区", "常総市"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("municipalities")
    sample = SAMPLE.read_text(encoding="utf-8")
    reports = []
    for number, title in enumerate(TITLES):
        path = folder / f"r{number}.txt"
        path.write_text(sample.replace("日立市", title), encoding="utf-8")
        reports.append(path)
    settings = archive_of(folder / "data", reports)
    engine = open_store(settings)
    with writer(engine)() as db, db.begin():  # stored before codes were kept
        db.execute(
            text(
                "UPDATE documents SET municipality_code = NULL, prefecture = NULL"
                " WHERE municipality = '常総市'"
            )
        )
    engine.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


DOCUMENTS = """{ documentsConnection(first: 10) { edges { node {
  municipality municipalityCode prefecture
  municipalityInfo { code name prefecture kind kana } } } } }"""


def test_documents_carry_code_prefecture_and_the_official_entry(client: TestClient) -> None:
    body = graphql(client, DOCUMENTS)
    assert "errors" not in body, body
    nodes = {
        e["node"]["municipality"]: e["node"] for e in body["data"]["documentsConnection"]["edges"]
    }
    assert {name: (n["municipalityCode"], n["prefecture"]) for name, n in nodes.items()} == {
        "日立市": ("082023", "茨城県"),
        "かすみがうら市": ("082309", "茨城県"),
        "府中市": ("132063", "東京都"),
        "札幌市中央区": ("011011", "北海道"),
        "常総市": (None, None),  # an old row: nullable
    }
    assert nodes["札幌市中央区"]["municipalityInfo"] == {
        "code": "011011",
        "name": "札幌市中央区",
        "prefecture": "北海道",
        "kind": "designated_ward",
        "kana": "サッポロシチュウオウク",
    }
    assert nodes["常総市"]["municipalityInfo"] is None


MEASURES = """query($filter: MeasureFilter) { measures(filter: $filter, first: 100) {
  totalCount edges { node { municipality } } } }"""


def _cities(client: TestClient, **where: Any) -> tuple[int, set[str]]:
    body = graphql(client, MEASURES, filter=where)
    assert "errors" not in body, body
    found = body["data"]["measures"]
    return found["totalCount"], {e["node"]["municipality"] for e in found["edges"]}


@pytest.mark.parametrize(
    ("where", "count", "cities"),
    [
        ({"prefectures": ["茨城県"]}, 24, {"日立市", "かすみがうら市"}),
        ({"prefectures": ["東京都", "北海道"]}, 24, {"府中市", "札幌市中央区"}),
        ({"municipalityCodes": ["082309"]}, 12, {"かすみがうら市"}),
        ({"municipalityCodes": ["082309", "011011"]}, 24, {"かすみがうら市", "札幌市中央区"}),
        ({"municipalityCodes": ["342084"]}, 0, set()),  # Hiroshima's 府中市: none stored
        ({"prefectures": ["茨城県"], "municipalityCodes": ["132063"]}, 0, set()),
        ({"prefectures": ["茨城県"], "fiscalYears": [2020]}, 24, {"日立市", "かすみがうら市"}),
        ({"prefectures": []}, 0, set()),
    ],
)
def test_measures_filter_by_code_and_prefecture(
    client: TestClient, where: dict[str, Any], count: int, cities: set[str]
) -> None:
    assert _cities(client, **where) == (count, cities)


SEARCH = """query($q: String!, $filter: MeasureFilter) {
  search(query: $q, filter: $filter, first: 50) { totalCount edges { node { municipality } } } }"""


def test_search_filters_by_code_and_prefecture(client: TestClient) -> None:
    everywhere = graphql(client, SEARCH, q="SNS")["data"]["search"]["totalCount"]
    body = graphql(client, SEARCH, q="SNS", filter={"prefectures": ["東京都"]})
    assert "errors" not in body, body
    found = body["data"]["search"]
    assert {e["node"]["municipality"] for e in found["edges"]} == {"府中市"}
    assert found["totalCount"] * len(TITLES) == everywhere
    body = graphql(client, SEARCH, q="SNS", filter={"municipalityCodes": ["082023", "011011"]})
    assert {e["node"]["municipality"] for e in body["data"]["search"]["edges"]} == {
        "日立市",
        "札幌市中央区",
    }


LIST = """query($prefecture: String!, $kinds: [String!]) {
  municipalities(prefecture: $prefecture, kinds: $kinds) { code name kind } }"""


def test_the_official_list_by_prefecture(client: TestClient) -> None:
    body = graphql(client, LIST, prefecture="茨城県")
    assert "errors" not in body, body
    listed = body["data"]["municipalities"]
    assert listed[0] == {"code": "080004", "name": "茨城県", "kind": "prefecture"}
    assert {"code": "082023", "name": "日立市", "kind": "city"} in listed
    assert len(listed) == 45  # the prefecture, 32 cities, 10 towns, 2 villages
    wards = graphql(client, LIST, prefecture="北海道", kinds=["designated_ward"])
    assert [m["name"] for m in wards["data"]["municipalities"]][:2] == [
        "札幌市中央区",
        "札幌市北区",
    ]
    assert len(wards["data"]["municipalities"]) == 10
    assert graphql(client, LIST, prefecture="日立市")["data"]["municipalities"] == []
