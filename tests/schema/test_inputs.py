"""Text arguments and cursors checked where they enter, through the real ASGI app: a NUL or a
lone surrogate is BAD_USER_INPUT on either store (PostgreSQL refused a NUL as INTERNAL, with
a traceback in the log), however it came, and the log holds no traceback for it."""

from __future__ import annotations

import base64
import codecs
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests import pdfs
from tests.conftest import SAMPLE, AppClient, no_traceback, settings_for

REFUSED = "text arguments must not contain NUL (U+0000) or lone surrogates"
TOKEN = "s3cret-token"
MEASURES = "query($a: String) { measures(after: $a) { totalCount } }"
SEARCH = 'query($a: String) { search(query: "市民", after: $a) { totalCount } }'
FILTER = "query($f: MeasureFilter) { measures(filter: $f) { totalCount } }"


@pytest.fixture
def caplog_clean(caplog: pytest.LogCaptureFixture) -> Any:
    """After the test: no record with a traceback, none at ERROR (a client's mistake is no
    server problem)."""
    caplog.set_level(logging.INFO)
    yield caplog
    no_traceback(caplog)


def _post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    # json.dumps writes "\u0000" and "\ud800" as the escapes a client would send.
    body = json.dumps({"query": query, "variables": variables})
    response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    answer: dict[str, Any] = response.json()
    return answer


def _refused(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" in body, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return error


def _cursor(*value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("text", ["\ud800", "a\x00"], ids=["surrogate", "nul"])
def test_a_cursor_hiding_bad_text_is_bad_user_input(
    client: TestClient, caplog_clean: Any, text: str
) -> None:
    """The cursor is base64 of JSON: its escapes decode to text the store cannot take (a lone
    surrogate was INTERNAL on both stores, a NUL on PostgreSQL)."""
    body = _post(client, MEASURES, a=_cursor("measure-asc", 2020, text, "01"))
    assert _refused(body)["message"] == "after is not a valid cursor for this list"
    assert body["data"] is None
    # The search's cursor: its own kind, the index generation replaced.
    first = _post(client, 'query { search(query: "市民") { edges { cursor } } }')
    real = first["data"]["search"]["edges"][0]["cursor"]
    kind, _, position = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    body = _post(client, SEARCH, a=_cursor(kind, text, position))
    assert _refused(body)["message"] == "after is not a valid cursor for this list"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(FILTER, {"f": {"departments": ["秘書課\x00"]}}, id="departments"),
        pytest.param(FILTER, {"f": {"municipalities": ["日立市\x00"]}}, id="municipalities"),
        pytest.param(FILTER, {"f": {"pillars": ["\x00"]}}, id="pillars"),
        pytest.param(FILTER, {"f": {"nextYearStatuses": ["継続", "\x00"]}}, id="statuses"),
        pytest.param(
            'query($q: String!) { search(query: $q, filter: {municipalities: ["日立市"]}) '
            "{ totalCount } }",
            {"q": "市民\x00"},
            id="search",
        ),
        pytest.param(
            "query($id: ID!) { node(id: $id) { id } }", {"id": "TWVhc3VyZTox\x00"}, id="node"
        ),
        pytest.param(
            "query($l: String) { measures(first: 1) { edges { node { "
            "indicatorSeries(label: $l) { value } } } } }",
            {"l": "\x00"},
            id="nested-field",
        ),
        # Unused, still refused: the rule is about what a request brings.
        pytest.param("{ fiscalYears { year } }", {"spare": {"deep": [["\x00"]]}}, id="unused"),
    ],
)
def test_nul_in_a_variable_is_bad_user_input(
    client: TestClient, caplog_clean: Any, query: str, variables: dict[str, Any]
) -> None:
    body = _post(client, query, **variables)
    assert REFUSED in _refused(body)["message"]
    assert "data" not in body  # a request error: nothing ran


@pytest.mark.parametrize(
    "literal",
    [
        '{ measures(filter: {departments: ["秘書課\\u0000"]}) { totalCount } }',
        '{ measures(filter: {municipalities: ["\\u{0}"]}) { totalCount } }',
        '{ search(query: "市民\\u0000") { totalCount } }',
        '{ search(query: """市民\x00""") { totalCount } }',  # raw, in a block string
        'query($m: [String!] = ["\\u0000"]) { measures(filter: {pillars: $m}) { totalCount } }',
    ],
)
def test_nul_in_a_string_literal_is_bad_user_input(
    client: TestClient, caplog_clean: Any, literal: str
) -> None:
    error = _refused(_post(client, literal))
    assert error["message"] == REFUSED
    assert error["locations"]  # where the literal is


@pytest.mark.parametrize(
    "literal",
    [
        '{ search(query: "市民\\ud800") { totalCount } }',
        '{ search(query: "\\uDC00市民") { totalCount } }',
        '{ search(query: "\\ud800\\ud800") { totalCount } }',
        '{ measures(filter: {pillars: ["\\u{D800}"]}) { totalCount } }',
    ],
)
def test_a_lone_surrogate_escape_in_the_document_is_bad_user_input(
    client: TestClient, caplog_clean: Any, literal: str
) -> None:
    """The GraphQL parser refuses these as syntax; they are a bad value all the same."""
    error = _refused(_post(client, literal))
    assert error["message"] == REFUSED


def test_a_surrogate_pair_escape_is_text(client: TestClient, caplog_clean: Any) -> None:
    body = _post(client, '{ measures(filter: {pillars: ["\\ud83d\\ude00"]}) { totalCount } }')
    assert body == {"data": {"measures": {"totalCount": 0}}}


def test_other_syntax_errors_keep_their_code(client: TestClient) -> None:
    body = _post(client, '{ search(query: "\\u{110000}") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


@pytest.mark.parametrize(
    "params",
    [
        {"query": '{ measures(filter: {pillars: ["\x00"]}) { totalCount } }'},  # raw, as %00
        {"query": '{ measures(filter: {pillars: ["\\u0000"]}) { totalCount } }'},
        {"query": '{ search(query: "\\ud800") { totalCount } }'},
        {
            "query": "query($p: [String!]) { measures(filter: {pillars: $p}) { totalCount } }",
            "variables": json.dumps({"p": ["\x00"]}),
        },
    ],
)
def test_a_get_request_is_checked_the_same(
    client: TestClient, caplog_clean: Any, params: dict[str, str]
) -> None:
    response = client.get("/graphql", params=params)
    assert response.status_code == 200
    assert REFUSED in _refused(response.json())["message"]


@pytest.mark.parametrize("how", ["post", "get"])
def test_a_lone_surrogate_in_the_json_is_refused_before_graphql(
    client: TestClient, caplog_clean: Any, how: str
) -> None:
    """The request's JSON is not Unicode text: refused with 400 before GraphQL runs, with the
    code GraphQL gives the same mistake."""
    query = "query($d: [String!]) { measures(filter: {departments: $d}) { totalCount } }"
    variables = json.dumps({"d": ["\ud800"]})  # ASCII: the escape \ud800
    if how == "post":
        response = client.post(
            "/graphql",
            content=json.dumps({"query": query, "variables": {"d": ["\ud800"]}}),
            headers={"content-type": "application/json"},
        )
    else:
        response = client.get("/graphql", params={"query": query, "variables": variables})
    assert response.status_code == 400
    assert REFUSED in _refused(response.json())["message"]


def test_an_ingest_with_a_nul_municipality_stores_nothing(
    tmp_path: Path, caplog_clean: Any, app_client: AppClient
) -> None:
    """On PostgreSQL the store refused it: the ingest failed as INTERNAL."""
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    by_variable = """mutation($file: Upload!, $m: String) {
        ingestDocument(file: $file, municipality: $m) { id } }"""
    inline = """mutation($file: Upload!) {
        ingestDocument(file: $file, municipality: "日立\\u0000市") { id } }"""
    with app_client(settings) as client:
        for query, variables in ((by_variable, {"m": "日立\x00"}), (inline, {})):
            operations = json.dumps({"query": query, "variables": {"file": None, **variables}})
            response = client.post(
                "/graphql",
                data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
                files={"0": ("report.txt", SAMPLE.read_bytes(), "text/plain")},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert REFUSED in _refused(response.json())["message"]
        assert _post(client, "{ documents { id } }") == {"data": {"documents": []}}


# Files: text a reader made up is made storable, a text file holding NUL is no text file. --


def _upload_raw(client: TestClient, data: bytes, filename: bytes) -> dict[str, Any]:
    """A GraphQL multipart upload written by hand, so the file name can hold any byte."""
    query = "mutation($file: Upload!) { ingestDocument(file: $file) { sourceName measureCount } }"
    operations = json.dumps({"query": query, "variables": {"file": None}}).encode()
    parts = [
        b'Content-Disposition: form-data; name="operations"\r\n\r\n' + operations,
        b'Content-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.file"]}',
        b'Content-Disposition: form-data; name="0"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data,
    ]
    body = b"".join(b"--xx\r\n" + part + b"\r\n" for part in parts) + b"--xx--\r\n"
    response = client.post(
        "/graphql",
        content=body,
        headers={
            "content-type": "multipart/form-data; boundary=xx",
            "Authorization": f"Bearer {TOKEN}",
        },
    )
    answer: dict[str, Any] = response.json()
    return answer


def test_uploaded_files_land_as_text_a_store_holds(
    tmp_path: Path, caplog_clean: Any, app_client: AppClient
) -> None:
    """Each was INTERNAL on PostgreSQL (and the first two stored a NUL on SQLite, the PDF
    failed there too)."""
    text = SAMPLE.read_text(encoding="utf-8")
    with app_client(settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)) as client:
        utf16 = codecs.BOM_UTF16_LE + text.replace("日立市", "日立\x00市").encode("utf-16-le")
        refused = _refused(_upload_raw(client, utf16, b"report.txt"))
        assert refused["message"] == (
            "refused: this is a binary file, not text (it holds NUL characters)"
        )
        assert _post(client, "{ documents { id } }") == {"data": {"documents": []}}
        named = _upload_raw(client, SAMPLE.read_bytes(), b"report\x00.txt")
        assert named == {
            "data": {"ingestDocument": {"sourceName": "report.txt", "measureCount": 12}}
        }
        misread = pdfs.misread(text, {"、": "0000", "ー": "D800"})
        stored = _upload_raw(client, misread, b"report.pdf")
        assert stored == {
            "data": {"ingestDocument": {"sourceName": "report.pdf", "measureCount": 12}}
        }


@pytest.mark.parametrize(
    "where",
    [
        {"fiscalYears": list(range(120_000))},
        {"departments": ["秘書課"] * 1001},
    ],
    ids=["120,000 years", "1,001 departments"],
)
def test_a_filter_longer_than_any_needs_is_refused_before_it_is_read(
    client: TestClient, caplog_clean: Any, where: dict[str, Any]
) -> None:
    error = _refused(_post(client, FILTER, f=where))
    assert "at most 1000 values" in error["message"]


def test_a_filter_of_a_thousand_values_is_read(client: TestClient) -> None:
    body = _post(client, FILTER, f={"fiscalYears": list(range(1020, 2020))})
    assert body["data"]["measures"]["totalCount"] == 0
