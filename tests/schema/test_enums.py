"""Closed sets as enums (#15 point 6, part), through the real ASGI app: each enum field beside
the String field it replaces, which keeps answering as before (deprecated, not removed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from archive.db import create_store_engine
from server.app import create_app
from server.settings import Settings
from tests.conftest import SAMPLE, archive_of, graphql

# The contract, written out here rather than read from the schema: the printed term, its
# enum value. The old String fields answered the left-hand side; they still must.
STATUSES = {
    "継続": "CONTINUED",
    "完了": "COMPLETED",
    "新規": "NEW",
    "廃止": "ABOLISHED",
    "終了": "ENDED",
    "統合": "MERGED",
    "拡充": "EXPANDED",
}
HIGHLIGHT_FIELDS = {
    "title": "TITLE",
    "description": "DESCRIPTION",
    "achievement": "ACHIEVEMENT",
    "departments": "DEPARTMENTS",
    "pillar": "PILLAR",
}
SOURCE_FIELDS = {
    "title": "TITLE",
    "departments": "DEPARTMENTS",
    "description": "DESCRIPTION",
    "achievement": "ACHIEVEMENT",
    "carry_over": "CARRY_OVER",
}
KINDS = {"equal": "EQUAL", "delete": "DELETE", "insert": "INSERT"}

MEASURES = """{ measures(first: 50) { edges { node { id number
  carryOver { tag status statusCode fiscalYear }
  provenance { field measureField firstLine lastLine } } } } }"""


def _measures(client: TestClient) -> dict[str, dict[str, Any]]:
    body = graphql(client, MEASURES)
    assert "errors" not in body, body
    return {e["node"]["number"]: e["node"] for e in body["data"]["measures"]["edges"]}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The sample with each of the seven tags the parser reads on a measure of its own, and
    one status no version of the parser reads, as another version's store could hold."""
    folder = tmp_path_factory.mktemp("tagged")
    report = SAMPLE.read_text(encoding="utf-8")
    assert report.count("[R3継続]") >= len(STATUSES)
    for term in list(STATUSES)[1:]:  # the first keeps [R3継続]
        head, _, tail = report.rpartition("[R3継続]")
        report = f"{head}[{term}]{tail}"
    source = folder / "reports" / SAMPLE.name
    source.parent.mkdir()
    source.write_text(report, encoding="utf-8")
    settings: Settings = archive_of(folder / "data", [source])
    engine = create_store_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE measures SET carry_over_tag = '[見直し]', carry_over_status = '見直し'"
                " WHERE number = '01'"
            )
        )
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client


def test_carry_over_status_code_names_each_printed_status(tagged: TestClient) -> None:
    measures = _measures(tagged)
    pairs = {
        (m["carryOver"]["status"], m["carryOver"]["statusCode"])
        for m in measures.values()
        if m["carryOver"]
    }
    assert pairs == {*STATUSES.items(), ("見直し", "OTHER")}
    for measure in measures.values():
        carry_over = measure["carryOver"]
        if carry_over:  # the old field: still the term as printed in the tag
            assert carry_over["tag"].endswith(f"{carry_over['status']}]")
    assert measures["01"]["carryOver"]["tag"] == "[見直し]"


def test_carry_over_fields_on_the_unchanged_sample(client: TestClient) -> None:
    carry_overs = [m["carryOver"] for m in _measures(client).values()]
    assert {(c["status"], c["statusCode"]) for c in carry_overs if c} == {("継続", "CONTINUED")}
    assert {c["tag"] for c in carry_overs if c} == {"[R3継続]"}
    assert carry_overs.count(None) == 1  # a measure without a tag has no carry-over at all


def test_provenance_names_its_field_in_both(client: TestClient) -> None:
    seen = set()
    for measure in _measures(client).values():
        spans = measure["provenance"]
        for span in spans:
            assert span["measureField"] == SOURCE_FIELDS[span["field"]]
            seen.add(span["field"])
        # Still ordered by line, then by the old field's value.
        assert spans == sorted(spans, key=lambda s: (s["firstLine"], s["field"]))
        if measure["carryOver"]:
            assert "carry_over" in {span["field"] for span in spans}
    assert seen == set(SOURCE_FIELDS)


SEARCH = """query($q: String!) { search(query: $q, first: 50) {
  edges { node { number } highlights { field measureField fragments } } } }"""


def test_highlights_name_their_field_in_both(client: TestClient) -> None:
    body = graphql(client, SEARCH, q="市")  # in every field of some measure
    assert "errors" not in body, body
    highlights = [h for e in body["data"]["search"]["edges"] for h in e["highlights"]]
    assert {h["field"] for h in highlights} == set(HIGHLIGHT_FIELDS)
    for found in highlights:
        assert found["measureField"] == HIGHLIGHT_FIELDS[found["field"]]
        assert "<mark>市</mark>" in "".join(found["fragments"])
    edge = graphql(client, SEARCH, q="人事評価")["data"]["search"]["edges"][0]
    assert [(h["field"], h["measureField"]) for h in edge["highlights"]] == [
        ("achievement", "ACHIEVEMENT")
    ]


COMPARE = """query($id: ID!) { compare(measure: $id, fiscalYear: 2019) {
  description { op kind text } achievement { op kind text } } }"""


@pytest.fixture(scope="module")
def years(three_years_archive: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(three_years_archive)) as client:
        yield client


def test_text_change_kind_beside_op(years: TestClient) -> None:
    body = graphql(
        years, "{ measures(first: 50, filter: {fiscalYears: [2020]}) { edges { node { id } } } }"
    )
    kinds = set()
    compared = 0
    for edge in body["data"]["measures"]["edges"]:
        found = graphql(years, COMPARE, id=edge["node"]["id"])
        assert "errors" not in found, found
        if found["data"]["compare"] is None:  # not in the 2019 report
            continue
        compared += 1
        for changes in found["data"]["compare"].values():
            for change in changes:
                assert change["kind"] == KINDS[change["op"]]
                kinds.add(change["op"])
            # Both fields rebuild the same texts.
            by_op = _sides(changes, "op", "equal", "delete", "insert")
            by_kind = _sides(changes, "kind", "EQUAL", "DELETE", "INSERT")
            assert by_op == by_kind
    assert kinds == set(KINDS)
    assert compared >= 5


def _sides(changes: list[dict[str, str]], key: str, *names: str) -> tuple[str, str]:
    equal, delete, insert = names
    before = "".join(c["text"] for c in changes if c[key] in (equal, delete))
    after = "".join(c["text"] for c in changes if c[key] in (equal, insert))
    return before, after


def test_old_fields_are_deprecated_for_the_new(client: TestClient) -> None:
    query = """{ __schema { types { name fields(includeDeprecated: true) {
      name isDeprecated deprecationReason type { kind name ofType { name } } } } } }"""
    types = {t["name"]: t for t in graphql(client, query)["data"]["__schema"]["types"]}
    expected = {
        ("CarryOver", "status"): ("statusCode", "CarryOverStatus"),
        ("SourceSpan", "field"): ("measureField", "MeasureField"),
        ("Highlight", "field"): ("measureField", "MeasureField"),
        ("TextChange", "op"): ("kind", "TextChangeKind"),
    }
    for (owner, old), (new, enum) in expected.items():
        fields = {f["name"]: f for f in types[owner]["fields"]}
        assert fields[old]["isDeprecated"] is True
        assert f"`{new}`" in fields[old]["deprecationReason"]
        assert fields[old]["type"]["ofType"]["name"] == "String"  # its type is unchanged
        assert fields[new]["isDeprecated"] is False
        assert fields[new]["type"] == {"kind": "NON_NULL", "name": None, "ofType": {"name": enum}}
        assert types[enum]["fields"] is None
