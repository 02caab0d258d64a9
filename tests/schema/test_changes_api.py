"""The change feed through the real ASGI app: an integrator's sync loop (#15 point 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from server.settings import Settings
from tests.conftest import REPORTS, AppClient, ArchiveCopy, archive_of, graphql, settings_for

CHANGES = """query($after: String) { changes(first: 2, after: $after) {
  edges { cursor node { kind documentId fiscalYear measures { kind measureId number }
    document { id fiscalYear } } }
  pageInfo { hasNextPage endCursor } } }"""


def _sync(client: TestClient, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """What an integrator runs: every change after ``cursor``, and the cursor to keep."""
    seen: list[dict[str, Any]] = []
    while True:
        body = graphql(client, CHANGES, after=cursor)
        assert "errors" not in body, body
        page = body["data"]["changes"]
        seen += [edge["node"] for edge in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] or cursor  # an empty page: keep the old one
        if not page["pageInfo"]["hasNextPage"]:
            return seen, cursor


def test_an_integrator_syncs_stores_replacements_and_deletions(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    archive_copy(tmp_path, REPORTS[:2])
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS="a-token-for-the-test")
    with app_client(settings) as client:
        first, cursor = _sync(client, None)
        assert [(c["kind"], c["fiscalYear"]) for c in first] == [
            ("STORED", 2019),
            ("STORED", 2020),
        ]
        listed = graphql(client, "{ documents { id } }")["data"]["documents"]
        assert [c["documentId"] for c in first] == [d["id"] for d in listed]
        assert [c["document"]["id"] for c in first] == [d["id"] for d in listed]
        measures = graphql(client, "{ measures(first: 100) { edges { node { id } } } }")
        assert sorted(m["measureId"] for c in first for m in c["measures"]) == sorted(
            edge["node"]["id"] for edge in measures["data"]["measures"]["edges"]
        )
        assert _sync(client, cursor) == ([], cursor)  # nothing new: the same cursor back

        archive_of(tmp_path, REPORTS[2:])
        response = client.post(
            "/graphql",
            json={
                "query": "mutation($id: ID!) { deleteDocument(id: $id) { id } }",
                "variables": {"id": first[0]["documentId"]},
            },
            headers={"Authorization": "Bearer a-token-for-the-test"},
        )
        assert "errors" not in response.json(), response.text
        later, _ = _sync(client, cursor)
    assert [(c["kind"], c["fiscalYear"]) for c in later] == [("STORED", 2021), ("DELETED", 2019)]
    assert later[1]["documentId"] == first[0]["documentId"]
    assert later[1]["document"] is None
    assert [(m["kind"], m["measureId"]) for m in later[1]["measures"]] == [
        ("REMOVED", m["measureId"]) for m in first[0]["measures"]
    ]


def test_a_bad_change_cursor_is_bad_user_input(client: TestClient) -> None:
    for after in ("not-a-cursor", ""):
        body = graphql(client, CHANGES, after=after)
        if after == "":
            assert "errors" not in body  # empty means none, as on the other lists
        else:
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


NEWEST = """query($before: String) { changes(last: 1, before: $before) {
  edges { cursor node { fiscalYear } } pageInfo { hasPreviousPage hasNextPage startCursor } } }"""


def test_the_newest_changes_page_backward(
    three_years_archive: Settings, app_client: AppClient
) -> None:
    """`last` reads the feed from its newest end, for a "recent changes" view."""
    with app_client(three_years_archive) as client:
        forward, _ = _sync(client, None)
        years: list[int] = []
        before: str | None = None
        while True:
            page = graphql(client, NEWEST, before=before)["data"]["changes"]
            years = [edge["node"]["fiscalYear"] for edge in page["edges"]] + years
            assert page["pageInfo"]["hasNextPage"] is (before is not None)
            if not page["pageInfo"]["hasPreviousPage"]:
                break
            before = page["pageInfo"]["startCursor"]
    assert years == [change["fiscalYear"] for change in forward]
    assert len(years) == 3
