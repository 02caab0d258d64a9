"""``Measure.similar`` through the real ASGI app (#17 point 4), on an archive of several
cities: Hitachi's three years, a near-copy of its 2020 report under another city's name (one
measure's figures changed), and its 2019 report under a third city's name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from index.search import Searcher
from index.similar import similar
from schema.cost import query_cost
from server.app import create_app
from server.settings import Settings
from tests.conftest import REPORTS, SAMPLE, AppClient, archive_of, graphql
from tests.variants import city_name, other_city

NEAR, OLD = city_name(1), city_name(2)
CHANGED = ("市内２か所の「元気 café カフェ」で", "市内３か所の「元気 café カフェ」で")

SIMILAR = """query($id: ID!, $first: Int) { node(id: $id) { ... on Measure {
  id municipality fiscalYear number history { id }
  similar(first: $first) { score measure { id municipality fiscalYear number title } } } } }"""

BY_NUMBER = """query($year: Int!) { measures(first: 50, filter: {fiscalYears: [$year]}) {
  edges { node { id number municipality } } } }"""


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("similar")
    sample = SAMPLE.read_text(encoding="utf-8")
    assert CHANGED[0] in sample
    near = folder / "near.txt"
    near.write_bytes(other_city(sample.replace(*CHANGED), 1))
    old = folder / "old.txt"
    old.write_bytes(other_city(REPORTS[0].read_text(encoding="utf-8"), 2))
    return archive_of(folder / "data", [*REPORTS, near, old])


@pytest.fixture(scope="module")
def client(cities: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(cities)) as test_client:
        yield test_client


def _measure(client: TestClient, year: int, number: str, city: str = "日立市") -> str:
    edges = graphql(client, BY_NUMBER, year=year)["data"]["measures"]["edges"]
    return next(
        str(e["node"]["id"])
        for e in edges
        if e["node"]["number"] == number and e["node"]["municipality"] == city
    )


def _similar(client: TestClient, measure_id: str, first: int | None = None) -> dict[str, Any]:
    body = graphql(client, SIMILAR, id=measure_id, first=first)
    assert "errors" not in body, body
    node: dict[str, Any] = body["data"]["node"]
    return node


def test_a_near_copy_in_another_city_ranks_first(client: TestClient) -> None:
    node = _similar(client, _measure(client, 2020, "05"))
    found = node["similar"]
    assert len(found) == 5  # the default
    best = found[0]
    assert (best["measure"]["municipality"], best["measure"]["fiscalYear"]) == (NEAR, 2020)
    assert best["measure"]["number"] == "05"
    assert 0.8 < best["score"] < 1  # figures changed: alike, not the same
    # The same measure of 2019 under the third city's name comes next: the same title and
    # description, another year's achievement.
    second = found[1]["measure"]
    assert (second["municipality"], second["fiscalYear"], second["number"]) == (OLD, 2019, "05")


def test_itself_its_history_and_its_own_report_are_excluded(client: TestClient) -> None:
    node = _similar(client, _measure(client, 2020, "05"), first=20)
    history = {m["id"] for m in node["history"]}
    assert len(history) == 3  # Hitachi's 2019, 2020 and 2021 selves
    found = [s["measure"] for s in node["similar"]]
    assert len(found) == 20
    assert not history & {m["id"] for m in found}
    assert all(
        (m["municipality"], m["fiscalYear"]) != ("日立市", 2020) for m in found
    )  # the point: other municipalities or other years
    # Other measures of Hitachi's other years are "other years": they may come.
    assert {m["municipality"] for m in found} >= {NEAR, OLD}


def test_scores_are_between_0_and_1_descending(client: TestClient) -> None:
    for number in ("01", "06", "12"):
        scores = [
            s["score"] for s in _similar(client, _measure(client, 2021, number), 20)["similar"]
        ]
        assert scores, number
        assert all(0 < s <= 1 for s in scores), scores
        assert scores == sorted(scores, reverse=True)


def test_an_exact_copy_scores_1(client: TestClient) -> None:
    # Measure 06 is the same in the near-copy report: the same text, whatever the city.
    best = _similar(client, _measure(client, 2020, "06"), 1)["similar"]
    assert len(best) == 1
    assert best[0]["score"] == 1.0
    assert (best[0]["measure"]["municipality"], best[0]["measure"]["number"]) == (NEAR, "06")
    # And the other way round.
    back = _similar(client, _measure(client, 2020, "06", NEAR), 1)["similar"]
    assert (back[0]["measure"]["municipality"], back[0]["score"]) == ("日立市", 1.0)


@pytest.mark.parametrize("first", [0, -1, 21])
def test_first_is_bounded(client: TestClient, first: int) -> None:
    body = graphql(client, SIMILAR, id=_measure(client, 2020, "05"), first=first)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 1 and 20" in body["errors"][0]["message"]


@pytest.mark.parametrize("first", [1, 3, 20])
def test_first_gives_that_many(client: TestClient, first: int) -> None:
    found = _similar(client, _measure(client, 2020, "05"), first)["similar"]
    assert len(found) == first


def test_the_cost_limit_counts_first(client: TestClient) -> None:
    from graphql import OperationDefinitionNode, parse

    from schema.root import build_schema

    schema = build_schema()._schema
    document = parse(
        'query($f: Int) { node(id: "x") { ... on Measure { similar(first: $f) { score '
        "measure { title } } } } }"
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    costs = [query_cost(schema, operation, {}, {"f": f}) for f in (1, 5, 20)]
    assert costs[0] < costs[1] < costs[2]
    assert query_cost(schema, operation, {}, {}) == costs[1]  # 5 without first
    assert costs[2] - costs[0] == 19 * (1 + 1 + 1)  # each item: score, measure, title


def test_similar_on_every_measure_of_pages_is_refused_beyond_the_cost_limit(
    client: TestClient,
) -> None:
    page = (
        "measures(first: 100) { edges { node { similar(first: 20) { score measure { title } } } } }"
    )
    one = graphql(client, f"{{ {page} }}")
    assert "errors" not in one, one
    assert 0 < len(one["data"]["measures"]["edges"][0]["node"]["similar"]) <= 20
    three = graphql(client, "{ " + " ".join(f"a{n}: {page}" for n in range(3)) + " }")
    assert three["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert three.get("data") is None


def test_a_measure_the_index_does_not_hold_has_none_alike(
    cities: Settings, client: TestClient
) -> None:
    searcher = Searcher(cities.index_dir)
    try:
        assert similar(searcher, 10**9) == []
        node = _measure(client, 2020, "05")
        assert similar(searcher, int(_decoded(node)), first=0) == []
        assert len(similar(searcher, int(_decoded(node)), first=50)) == 20  # MOST at most
    finally:
        searcher.close()


def _decoded(node_id: str) -> str:
    from strawberry.relay import from_base64

    return from_base64(node_id)[1]


def test_a_deleted_report_s_measures_are_no_longer_alike(
    tmp_path: Path, app_client: AppClient
) -> None:
    from archive.db import reader, writer
    from archive.ingest import delete_document
    from index.writing import apply_pending
    from server.resources import open_store

    near = tmp_path / "near.txt"
    near.write_bytes(other_city(SAMPLE.read_text(encoding="utf-8").replace(*CHANGED), 1))
    settings = archive_of(tmp_path / "data", [SAMPLE, near])
    with app_client(settings) as client:
        measure = _measure(client, 2020, "05")
        found = _similar(client, measure)["similar"]
        assert found[0]["measure"]["municipality"] == NEAR
        engine = open_store(settings)
        with writer(engine)() as session, session.begin():
            documents = graphql(client, "{ documents { id municipality } }")["data"]["documents"]
            near_id = next(d["id"] for d in documents if d["municipality"] == NEAR)
            assert delete_document(session, int(_decoded(near_id))) == 12
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        # Only Hitachi's own report is left: its other measures are not "other" enough.
        assert _similar(client, measure)["similar"] == []
