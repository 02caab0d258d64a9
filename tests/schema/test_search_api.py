"""The search field through the real ASGI app, on the sample archive."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import (
    EARLIER_INDEXES,
    REPORTS,
    SAMPLE,
    AppClient,
    ArchiveCopy,
    archive_of,
    graphql,
)

SEARCH = """
query Search($q: String!, $first: Int, $after: String, $filter: MeasureFilter,
             $order: SearchOrder = RELEVANCE) {
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


def test_every_filter_applies_to_search(client: TestClient) -> None:
    for where in (
        {"municipalities": ["水戸市"]},
        {"pillars": ["no such pillar"]},
        {"nextYearStatuses": ["廃止"]},
        {"fiscalYearFrom": 2030},
    ):
        assert _search(client, "市民", filter=where)["totalCount"] == 0, where
    assert _search(client, "市民", filter={"municipalities": ["日立市"]})["totalCount"] == 4
    # No 11 mentions 市民 but printed no tag: its next-year status is unknown, not 継続.
    assert _search(client, "市民", filter={"nextYearStatuses": ["継続"]})["totalCount"] == 3


def test_a_search_cursor_belongs_to_its_query_order_and_filter(client: TestClient) -> None:
    cursor = _search(client, "市", first=2)["pageInfo"]["endCursor"]
    assert len(_search(client, "市", first=2, after=cursor)["edges"]) == 2
    for variables in (
        {"q": "市民", "after": cursor},
        {"q": "市", "after": cursor, "order": "FISCAL_YEAR_DESC"},
        {"q": "市", "after": cursor, "filter": {"fiscalYears": [2020]}},
        {"q": "市", "after": ""},
    ):
        body = graphql(client, SEARCH, **variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables


def test_crafted_cursors_and_ids_are_bad_input_or_nothing(client: TestClient) -> None:
    def encoded(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    for cursor in (
        encoded(["measure-asc", 10**30, "x", "y"]),
        base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode(),
    ):
        body = graphql(client, "query($a: String) { measures(after: $a) { totalCount } }", a=cursor)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for node_id in ("Document:²", "Document:" + "9" * 25, "Measure:" + "9" * 5000):
        global_id = base64.b64encode(node_id.encode()).decode()
        body = graphql(client, "query($id: ID!) { node(id: $id) { id } }", id=global_id)
        assert body == {"data": {"node": None}}


def test_variables_of_the_wrong_type_are_bad_user_input(client: TestClient) -> None:
    for value in ("abc", 1.5, 10**30):
        body = graphql(client, "query($f: Int) { measures(first: $f) { totalCount } }", f=value)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", value


@pytest.mark.parametrize("earlier", EARLIER_INDEXES)
def test_an_index_of_an_earlier_format_is_unavailable_not_an_error(
    tmp_path: Path, earlier: str, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """Until it is rebuilt, searches say what to do; lists from the store still work. A
    server that follows the store's log (the default) rebuilds it by itself (#19)."""
    settings = archive_copy(tmp_path / "data", [SAMPLE])
    EARLIER_INDEXES[earlier](settings.index_dir)
    not_following = replace(settings, index_poll=0.0)
    with app_client(not_following) as client:
        body = graphql(client, SEARCH, q="市民")
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "INDEX_UNAVAILABLE"
        assert "plan-archive reindex" in error["message"]
        listed = graphql(client, "{ measures(first: 1) { totalCount } }")
        assert listed["data"]["measures"]["totalCount"] == 12
    with app_client(settings) as client:
        deadline = time.monotonic() + 60
        while "errors" in (body := graphql(client, SEARCH, q="市民")):
            assert body["errors"][0]["extensions"]["code"] == "INDEX_UNAVAILABLE"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert body["data"]["search"]["totalCount"] == listed_hits(client)


def listed_hits(client: TestClient) -> int:
    """How many of the sample's measures hold 市民, read off the store's list (not the index)."""
    edges = graphql(
        client,
        "{ measures(first: 100) { edges { node { title description achievement departments { name } pillar { title } } } } }",
    )["data"]["measures"]["edges"]
    return sum("市民" in json.dumps(edge["node"], ensure_ascii=False) for edge in edges)


MEASURES = """query($after: String) { measures(first: 5, after: $after) {
  edges { cursor node { id fiscalYear number } } } }"""


def test_cursors_hold_across_an_ingest_that_does_not_touch_them(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """#15 point 4: a later year ingested while an integrator pages (in year order) changes
    nothing before the cursors, so the next pages are the ones they would have been."""
    settings = archive_copy(tmp_path, REPORTS[:2])
    with app_client(settings) as client:
        search = _search(client, "情報", first=5, order="FISCAL_YEAR_ASC")
        cursor = search["pageInfo"]["endCursor"]
        listed = graphql(client, MEASURES)["data"]["measures"]["edges"]
        expected = (
            _search(client, "情報", first=5, after=cursor, order="FISCAL_YEAR_ASC")["edges"],
            graphql(client, MEASURES, after=listed[-1]["cursor"])["data"]["measures"]["edges"],
        )
        archive_of(tmp_path, REPORTS[2:])
        assert _search(client, "情報", first=1)["facets"]["fiscalYears"][-1]["value"] == "2021"
        after = (
            _search(client, "情報", first=5, after=cursor, order="FISCAL_YEAR_ASC")["edges"],
            graphql(client, MEASURES, after=listed[-1]["cursor"])["data"]["measures"]["edges"],
        )
    # The same hits under the same cursors (scores move: the new year changes word weights).
    assert [(e["cursor"], e["node"]) for e in after[0]] == [
        (e["cursor"], e["node"]) for e in expected[0]
    ]
    assert after[1] == expected[1]


def test_a_search_cursor_whose_hits_changed_says_so(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """The report of the first hit is deleted: the hits before the cursor are not the ones
    it was made on, and the cursor is refused with its own code, not followed blindly."""
    from archive.db import reader, writer
    from archive.ingest import delete_document
    from index.writing import apply_pending
    from server.resources import open_store

    settings = archive_copy(tmp_path, REPORTS[:2])
    with app_client(settings) as client:
        page = graphql(
            client,
            """query { search(query: "情報", first: 3) { pageInfo { endCursor }
               edges { node { document { id } } } } }""",
        )["data"]["search"]
        cursor = page["pageInfo"]["endCursor"]
        document_id = int(
            base64.b64decode(page["edges"][0]["node"]["document"]["id"]).split(b":")[1]
        )
        engine = open_store(settings)
        with writer(engine)() as db, db.begin():
            delete_document(db, document_id)
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        forward = graphql(client, SEARCH, q="情報", first=3, after=cursor)
        backward = graphql(
            client,
            'query($c: String) { search(query: "情報", last: 2, before: $c) { totalCount } }',
            c=cursor,
        )
    for body in (forward, backward):
        assert body["data"] is None or body["data"]["search"] is None
        error = body["errors"][0]
        assert error["extensions"]["code"] == "CURSOR_EXPIRED"
        assert "search again" in error["message"]


WORD_SEARCH = """
query Search($q: String!, $match: MatchMode! = ALL, $first: Int) {
  search(query: $q, match: $match, first: $first) {
    totalCount
    exactCount
    edges { matchedBy node { number } highlights { field fragments } }
    facets { fiscalYears { value count exactCount } departments { value count exactCount } }
  }
}
"""


def test_word_matches_say_how_they_matched_and_count_apart(client: TestClient) -> None:
    """#17 point 1: 情報発信 exactly in No 01-03, and as 情報 and 発信 apart in No 11."""
    body = graphql(client, WORD_SEARCH, q="情報発信")
    assert "errors" not in body, body
    page = body["data"]["search"]
    assert (page["totalCount"], page["exactCount"]) == (4, 3)
    kinds = [(e["node"]["number"], e["matchedBy"]) for e in page["edges"]]
    assert [kind for _, kind in kinds] == ["EXACT", "EXACT", "EXACT", "WORDS"]
    assert kinds[-1] == ("11", "WORDS")
    fragments = " ".join(f for h in page["edges"][-1]["highlights"] for f in h["fragments"])
    assert "<mark>情報</mark>の<mark>発信</mark>" in fragments
    assert page["facets"]["fiscalYears"] == [{"value": "2020", "count": 4, "exactCount": 3}]
    departments = {f["value"]: (f["count"], f["exactCount"]) for f in page["facets"]["departments"]}
    assert departments["都市政策課"] == (1, 0)
    assert departments["秘書課"] == (1, 1)


def test_exact_only_gives_the_exact_hits_alone(client: TestClient) -> None:
    body = graphql(client, WORD_SEARCH, q="情報発信", match="EXACT_ONLY")
    assert "errors" not in body, body
    page = body["data"]["search"]
    assert (page["totalCount"], page["exactCount"]) == (3, 3)
    assert {e["matchedBy"] for e in page["edges"]} == {"EXACT"}
    quoted = graphql(client, WORD_SEARCH, q='"情報発信"')["data"]["search"]
    assert (quoted["totalCount"], quoted["exactCount"]) == (3, 3)


def test_a_cursor_of_one_match_mode_is_not_taken_by_the_other(client: TestClient) -> None:
    cursor_query = """
    query($q: String!, $match: MatchMode!, $after: String) {
      search(query: $q, match: $match, first: 1, after: $after) {
        edges { node { number } } pageInfo { endCursor }
      }
    }"""
    first = graphql(client, cursor_query, q="情報発信", match="ALL")["data"]["search"]
    after = first["pageInfo"]["endCursor"]
    other = graphql(client, cursor_query, q="情報発信", match="EXACT_ONLY", after=after)
    assert other.get("errors"), other


LABELS = """
query Labels($q: String!) {
  search(query: $q, first: 20) {
    totalCount
    edges {
      node { number grade carryOver { tag status fiscalYear } provenance { measureField } }
      highlights { measureField fragments }
    }
  }
}
"""


def test_a_tag_and_a_grade_are_searched_as_printed_with_highlights(
    tmp_path: Path, app_client: AppClient
) -> None:
    """#17 point 2: a term that reads as a tag finds the measures printed with it and marks
    it; grade: finds a grade as printed; neither makes a plain word match a label."""
    from tests.archive.test_layout_profiles import EVALUATION

    with app_client(archive_of(tmp_path, [SAMPLE, EVALUATION])) as client:
        tagged = graphql(client, LABELS, q="［R３継続］")["data"]["search"]
        plain = graphql(client, LABELS, q="継続")["data"]["search"]
        graded = graphql(client, LABELS, q="grade:Ａ")["data"]["search"]
        listed = graphql(
            client,
            "{ measures(first: 100) { edges { node { number grade carryOver { tag status fiscalYear } } } } }",
        )["data"]["measures"]["edges"]
    # The tag names 継続 in 令和3年度 (2021), however it is printed: [R3継続] in Hitachi's
    # report, 継続 in the FY2020 evaluation sheet's column.
    carry = {e["node"]["number"]: e["node"]["carryOver"] or {} for e in listed}
    with_r3 = sorted(
        n for n, c in carry.items() if (c.get("status"), c.get("fiscalYear")) == ("継続", 2021)
    )
    assert {carry[n]["tag"] for n in with_r3} == {"[R3継続]", "継続"}
    assert sorted(e["node"]["number"] for e in tagged["edges"]) == with_r3
    assert tagged["totalCount"] == len(with_r3)
    for edge in tagged["edges"]:
        label = [h for h in edge["highlights"] if h["measureField"] == "CARRY_OVER"]
        printed = carry[edge["node"]["number"]]["tag"]
        assert label == [{"measureField": "CARRY_OVER", "fragments": [f"<mark>{printed}</mark>"]}]
    # 継続 as a word: the text where it is printed, never a tag highlighted for it
    for edge in plain["edges"]:
        assert "CARRY_OVER" not in {h["measureField"] for h in edge["highlights"]}
    assert len(plain["edges"]) < len(with_r3)
    graded_a = sorted(e["node"]["number"] for e in listed if e["node"]["grade"] == "A")
    assert sorted(e["node"]["number"] for e in graded["edges"]) == graded_a
    assert graded_a
    for edge in graded["edges"]:
        assert {"measureField": "GRADE", "fragments": ["<mark>A</mark>"]} in edge["highlights"]
        # the grade's source lines are a span of their own, named by the enum
        assert "GRADE" in {s["measureField"] for s in edge["node"]["provenance"]}


def test_every_field_a_reader_names_in_provenance_is_a_measure_field(
    tmp_path: Path, app_client: AppClient
) -> None:
    """The text layouts and the spreadsheet reader name the fields each measure was read
    from; every name is a value of the MeasureField enum (a grade and a sheet's number and
    pillar columns were not), and a sheet's tag and grade are searched as printed."""
    from tests.archive.test_layout_profiles import EVALUATION
    from tests.archive.test_sheets import workbook

    book = tmp_path / "評価シート.xlsx"
    book.write_bytes(workbook())
    with app_client(archive_of(tmp_path, [SAMPLE, EVALUATION, book])) as client:
        body = graphql(
            client, "{ measures(first: 100) { edges { node { provenance { measureField } } } } }"
        )
        expanded = graphql(client, LABELS, q="tag:拡充 grade:a")
        numbered = graphql(client, LABELS, q="number:1 municipality:日立市 fiscalYear:2020")
    assert "errors" not in body, body
    named = {
        s["measureField"]
        for e in body["data"]["measures"]["edges"]
        for s in e["node"]["provenance"]
    }
    assert {"NUMBER", "PILLAR", "GRADE", "CARRY_OVER"} <= named
    assert "errors" not in expanded, expanded
    (edge,) = expanded["data"]["search"]["edges"]
    assert (edge["node"]["carryOver"]["tag"], edge["node"]["grade"]) == ("拡充", "A")
    assert sorted(h["measureField"] for h in edge["highlights"]) == ["CARRY_OVER", "GRADE"]
    (edge,) = numbered["data"]["search"]["edges"]
    assert edge["node"]["number"] == "01"
    assert {"measureField": "NUMBER", "fragments": ["<mark>01</mark>"]} in edge["highlights"]
