"""Refusals in Japanese for a request whose Accept-Language prefers it (#18 point 1), through
the real ASGI app: the search syntax, the query length, cursors, page sizes and request
limits over GraphQL, and the exports' refusals. Without the header every answer is the
English it always was, with the same code; both carry the same ``reason``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from starlette.testclient import TestClient

from index.query import MAX_QUERY_LENGTH
from schema.messages import prefers_japanese
from server.settings import Settings
from tests.conftest import AppClient, ArchiveCopy, settings_for

JA = {"accept-language": "ja-JP,ja;q=0.9,en;q=0.5"}
JAPANESE_TEXT = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
SEARCH = """query($q: String!, $after: String, $first: Int) {
  search(query: $q, after: $after, first: $first) { totalCount } }"""


def _errors(client: TestClient, query: str, headers: dict[str, str], **variables: Any) -> Any:
    answer = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    errors = answer.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def _both(client: TestClient, query: str, **variables: Any) -> tuple[Any, Any]:
    """The same request's error without Accept-Language and with Japanese preferred."""
    return _errors(client, query, {}, **variables), _errors(client, query, JA, **variables)


def _is_japanese(message: str) -> bool:
    return bool(JAPANESE_TEXT.search(message)) and "{" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("q", "reason", "english", "named"),
    [
        ('"open', "QUOTE_NOT_CLOSED", 'a quotation mark (") is not closed', '"'),
        ("防災 OR", "OR_NEEDS_TERMS", "OR needs a term on each side", "OR"),
        ("OR 防災", "OR_NEEDS_TERMS", "OR needs a term on each side", "OR"),
        ("防災 OR -避難", "OR_JOINS_EXCLUDED", "OR cannot join an excluded term", "OR"),
        ("-SNS", "ONLY_EXCLUDED", "a search needs at least one term that is not excluded", "-"),
        ("department:", "FIELD_NEEDS_VALUE", "department: needs a value", "department:"),
        ("fiscalYear:2021..2019", "YEARS_BACKWARDS", "fiscalYear:2021..2019 runs", "2021..2019"),
        ("fiscalYear:昨年", "NOT_A_YEAR", "fiscalYear:昨年 is not a year", "昨年"),
        ("x" * (MAX_QUERY_LENGTH + 1), "QUERY_TOO_LONG", "limited to 256 characters", "256"),
        ("防災 AND", "AND_NEEDS_TERMS", "AND needs a term on each side", "AND"),
        ("tag:R3R", "NOT_A_TAG", "tag:R3R is not a next-year tag", "R3R"),
    ],
)
def test_a_search_the_syntax_refuses_is_told_in_japanese(
    client: TestClient, q: str, reason: str, english: str, named: str
) -> None:
    plain, japanese = _both(client, SEARCH, q=q)
    assert english in plain["message"]  # unchanged
    assert (
        plain["extensions"]
        == japanese["extensions"]
        == {
            "code": "BAD_USER_INPUT",
            "reason": reason,
        }
    )
    assert _is_japanese(japanese["message"])
    assert named in japanese["message"]  # it names what was wrong, as the English does


def test_bad_cursors_and_page_sizes_are_told_in_japanese(client: TestClient) -> None:
    plain, japanese = _both(client, SEARCH, q="市", after="bm90IGEgY3Vyc29y")
    assert "is not a valid cursor" in plain["message"]
    assert japanese["extensions"] == plain["extensions"]
    assert plain["extensions"]["reason"] == "BAD_CURSOR"
    assert _is_japanese(japanese["message"])
    plain, japanese = _both(client, SEARCH, q="市", first=1000)
    assert plain["message"] == "first must be between 1 and 100"
    assert plain["extensions"]["reason"] == japanese["extensions"]["reason"] == "PAGE_SIZE"
    assert _is_japanese(japanese["message"])
    assert "100" in japanese["message"]


def test_a_search_cursor_whose_hits_changed_is_told_in_japanese(
    tmp_path: Any, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """CURSOR_EXPIRED, by deleting the first hit's report between two pages."""
    import base64

    from archive.db import reader, writer
    from archive.ingest import delete_document
    from index.writing import apply_pending
    from server.resources import open_store
    from tests.conftest import REPORTS

    settings = archive_copy(tmp_path, REPORTS[:2])
    first_page = """query { search(query: "情報", first: 3) { pageInfo { endCursor }
      edges { node { document { id } } } } }"""
    with app_client(settings) as client:
        page = client.post("/graphql", json={"query": first_page}).json()["data"]["search"]
        document = page["edges"][0]["node"]["document"]["id"]
        engine = open_store(settings)
        with writer(engine)() as db, db.begin():
            delete_document(db, int(base64.b64decode(document).split(b":")[1]))
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        cursor = page["pageInfo"]["endCursor"]
        plain, japanese = _both(client, SEARCH, q="情報", after=cursor, first=3)
    assert "run the search again" in plain["message"]
    assert plain["extensions"] == japanese["extensions"]
    assert japanese["extensions"] == {"code": "CURSOR_EXPIRED", "reason": "CURSOR_EXPIRED"}
    assert _is_japanese(japanese["message"])


def test_request_limits_are_told_in_japanese(
    sample_settings: Settings, app_client: AppClient
) -> None:
    settings = settings_for(
        sample_settings.data_dir,
        PLAN_ARCHIVE_MAX_ALIASES="2",
        PLAN_ARCHIVE_MAX_QUERY_DEPTH="3",
        PLAN_ARCHIVE_MAX_COST="50",
    )
    with app_client(settings) as client:
        aliases = (
            "query { a: fiscalYears { year } b: fiscalYears { year } c: fiscalYears { year } }"
        )
        plain, japanese = _both(client, aliases)
        assert plain["message"] == "3 aliases found. Allowed: 2"
        assert japanese["extensions"] == plain["extensions"]
        assert plain["extensions"]["reason"] == "TOO_MANY_ALIASES"
        assert _is_japanese(japanese["message"])
        deep = "query { measures(first: 1) { edges { node { document { title } } } } }"
        plain, japanese = _both(client, deep)
        assert "exceeds maximum operation depth of 3" in plain["message"]
        assert plain["extensions"] == japanese["extensions"]
        assert plain["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # as before
        assert _is_japanese(japanese["message"])
        costly = 'query { search(query: "市", first: 100) { edges { node { title } } } }'
        plain, japanese = _both(client, costly)
        assert plain["extensions"] == japanese["extensions"]
        assert plain["extensions"]["code"] == "QUERY_TOO_COSTLY"
        assert _is_japanese(japanese["message"])
        assert "50" in japanese["message"]


def test_a_body_over_the_limit_is_told_in_japanese(
    sample_settings: Settings, app_client: AppClient
) -> None:
    settings = settings_for(sample_settings.data_dir, PLAN_ARCHIVE_MAX_BODY_BYTES="200")
    body = {"query": "query { fiscalYears { year } }", "variables": {"pad": "x" * 300}}
    with app_client(settings) as client:
        plain = client.post("/graphql", json=body)
        japanese = client.post("/graphql", json=body, headers=JA)
    assert plain.status_code == japanese.status_code == 413
    assert plain.json()["errors"][0]["message"] == "the request body is over 200 bytes"
    said = japanese.json()["errors"][0]
    assert said["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "reason": "PAYLOAD_TOO_LARGE"}
    assert _is_japanese(said["message"])
    assert "200" in said["message"]


@pytest.mark.parametrize(
    ("query", "reason", "english"),
    [
        ("fiscalYear=20x", "EXPORT_YEAR", "fiscalYear must be a Western year such as 2020"),
        ("fiscal_year=2020", "EXPORT_UNKNOWN_PARAMETER", "unknown parameter 'fiscal_year'"),
        ("limit=0", "EXPORT_LIMIT", "limit must be a whole number from 1 to 50000"),
        ("q=", "EXPORT_EMPTY_QUERY", "q is empty"),
        ("q=%22open", "QUOTE_NOT_CLOSED", 'a quotation mark (") is not closed'),
        ("q=-SNS", "ONLY_EXCLUDED", "a search needs at least one term that is not excluded"),
        ("order=score", "EXPORT_ORDER", "order must be one of fiscalYear, -fiscalYear"),
        ("header=fr", "EXPORT_HEADER", "header must be one of en, ja"),
    ],
)
def test_export_refusals_are_told_in_japanese_in_the_body_and_headers(
    client: TestClient, query: str, reason: str, english: str
) -> None:
    for path in ("/export.csv", "/export.xlsx"):
        plain = client.get(f"{path}?{query}")
        japanese = client.get(f"{path}?{query}", headers=JA)
        checked = client.head(f"{path}?{query}", headers=JA)  # how the page checks first
        assert plain.status_code == japanese.status_code == checked.status_code == 400
        assert english in plain.text  # unchanged
        assert unquote(plain.headers["x-error-message"]) == plain.text
        assert _is_japanese(japanese.text)
        assert japanese.headers["content-type"] == "text/plain; charset=utf-8"
        for answer in (plain, japanese, checked):
            assert answer.headers["x-error-code"] == "BAD_USER_INPUT"
            assert answer.headers["x-error-reason"] == reason
        assert unquote(checked.headers["x-error-message"]) == japanese.text
        assert checked.content == b""


def test_an_export_over_the_cap_is_told_in_japanese(
    sample_settings: Settings, app_client: AppClient
) -> None:
    capped = settings_for(sample_settings.data_dir, PLAN_ARCHIVE_MAX_EXPORT_ROWS="5")
    with app_client(capped) as client:
        plain = client.get("/export.xlsx")
        japanese = client.get("/export.xlsx", headers=JA)
    assert plain.status_code == japanese.status_code == 400
    assert plain.text.startswith("the export holds 12 measures, more than this server's 5")
    assert plain.headers["x-error-reason"] == japanese.headers["x-error-reason"]
    assert _is_japanese(japanese.text)
    assert "12" in japanese.text
    assert "limit=5" in japanese.text


@pytest.mark.parametrize(
    ("header", "japanese"),
    [
        ("ja", True),
        ("ja-JP", True),
        ("JA-jp,en;q=0.8", True),
        ("en;q=0.5, ja", True),
        ("en-US,en;q=0.9,ja;q=0.8", False),
        ("en, ja", False),  # a tie: the first listed
        ("ja;q=0, en", False),
        ("*", False),
        ("jav", False),  # Javanese
        ("", False),
        (None, False),
        ("ja;q=abc, en;q=0.1", False),
    ],
)
def test_which_requests_prefer_japanese(header: str | None, japanese: bool) -> None:
    assert prefers_japanese(header) is japanese
