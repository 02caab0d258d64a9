"""GraphQL over HTTP: media types by Accept, status codes, request errors without data,
refusals shaped like GraphQL errors, and the graphql-http package's server audit."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from server.over_http import GRAPHQL_RESPONSE, JSON, answer_type, settle
from server.settings import Settings
from tests.conftest import served

AUDIT = Path(__file__).parent / "audit"
BOTH = f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"  # what Apollo Client and graphql-http send
YEARS = "{ fiscalYears { year } }"


def _post(client: TestClient, body: object, accept: str | None = BOTH) -> Any:
    headers = {} if accept is None else {"accept": accept}
    return client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (BOTH, GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # a tie goes to the newer type
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0", JSON),
        ("text/html", JSON),  # neither: JSON rather than 406
    ],
)
def test_the_answer_takes_the_type_the_client_prefers(accept: str | None, expected: str) -> None:
    assert answer_type(accept) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{"},  # cannot be parsed
        {"query": "{ noSuchField }"},  # not valid
        {"query": "query($n: Int!) { measures(first: $n) { totalCount } }", "variables": {}},
        {
            "query": "query($n: Int!) { measures(first: $n) { totalCount } }",
            "variables": {"n": "x"},
        },
        {"query": "query A { fiscalYears { year } } query B { documents { id } }"},
        {"query": YEARS, "operationName": "NoSuchOperation"},
    ],
)
def test_a_request_error_is_400_without_data_for_graphql_response_json(
    client: TestClient, body: dict[str, Any]
) -> None:
    answer = _post(client, body)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in answer.json()
    assert answer.json()["errors"][0]["extensions"]["code"]


def test_a_request_error_is_200_without_data_for_json(client: TestClient) -> None:
    for accept in (JSON, None, "*/*"):
        answer = _post(client, {"query": "{ noSuchField }"}, accept)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(JSON)
        body = answer.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_a_field_error_keeps_its_data_and_200(client: TestClient) -> None:
    # No token: the mutation's field fails, the operation ran.
    answer = _post(client, {"query": 'mutation { deleteDocument(id: "RG9jdW1lbnQ6MQ==") { id } }'})
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] == {"deleteDocument": None}, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_field_error_that_nulls_the_root_keeps_data_and_200(client: TestClient) -> None:
    answer = _post(client, {"query": "{ measures(first: 0) { totalCount } }"})
    assert answer.status_code == 200
    body = answer.json()
    assert "data" in body
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["measures"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_unknown_operation_name_is_a_request_error(client: TestClient) -> None:
    body = {"query": YEARS, "operationName": "NoSuchOperation"}
    legacy = _post(client, body, JSON)
    assert legacy.status_code == 200
    assert "data" not in legacy.json()
    assert legacy.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert _post(client, body).status_code == 400


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        (["GRAPHQL_VALIDATION_FAILED"], 400),
        (["QUERY_TOO_COSTLY"], 400),
        (["STORE_BUSY"], 503),
        (["TIMEOUT"], 503),
        (["INTERNAL"], 500),
        (None, 200),  # not a request error: it ran
    ],
)
def test_a_request_error_takes_the_status_of_its_cause(
    codes: list[str | None] | None, status: int
) -> None:
    for media_type, expected in ((GRAPHQL_RESPONSE, status), (JSON, 200)):
        response = Response(b"{}", media_type="application/json")
        settle(response, media_type, codes)
        assert response.status_code == expected
        assert response.headers["content-type"].startswith(media_type)


def test_several_operations_need_a_name_and_an_empty_name_is_none(client: TestClient) -> None:
    two = "query A { fiscalYears { year } } query B { documents { id } }"
    named = _post(client, {"query": two, "operationName": "B"}).json()
    assert set(named["data"]) == {"documents"}
    unnamed = _post(client, {"query": two}, JSON).json()
    assert unnamed["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "operationName" in unnamed["errors"][0]["message"]
    one = _post(client, {"query": YEARS, "operationName": ""})
    assert one.status_code == 200
    assert one.json()["data"]["fiscalYears"]
    refused = _post(client, {"query": YEARS, "operationName": 5})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_mutation_over_get_and_other_methods_are_405_with_allow(client: TestClient) -> None:
    mutation = client.get(
        "/graphql",
        params={"query": 'mutation { deleteDocument(id: "RG9jdW1lbnQ6MQ==") { id } }'},
        headers={"accept": BOTH},
    )
    assert mutation.status_code == 405
    assert mutation.headers["allow"] == "POST"
    assert mutation.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert mutation.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    for method in ("PUT", "DELETE", "PATCH", "HEAD"):
        other = client.request(method, "/graphql", headers={"accept": JSON})
        assert other.status_code == 405, method
        assert other.headers["allow"] == "GET, POST"
        if method != "HEAD":
            assert other.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_every_refusal_is_a_graphql_shaped_error(client: TestClient) -> None:
    refusals = [
        client.post("/graphql", content=b"{not json", headers={"content-type": JSON}),
        client.post("/graphql", content=b"query", headers={"content-type": "text/plain"}),
        client.post("/graphql", json={"variables": {}}),  # no query
        client.post("/graphql", content=b"x" * (2 << 20), headers={"content-type": JSON}),
        client.post("/healthz"),
        client.get("/no-such-path", headers={"accept": JSON}),
    ]
    for answer in refusals:
        assert answer.status_code >= 400, answer.text
        assert answer.headers["content-type"].startswith(JSON), answer.text
        body = answer.json()
        assert "data" not in body
        assert body["errors"][0]["message"]
        assert body["errors"][0]["extensions"]["code"]
    too_large = client.post(
        "/graphql",
        content=b"x" * (2 << 20),
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE},
    )
    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith(GRAPHQL_RESPONSE)


def test_the_graphql_http_server_audit_passes(sample_settings: Settings, tmp_path: Path) -> None:
    """The graphql-http package's own audit (tests/server/audit, versions pinned by its lock
    file), run by Node.js against ``plan-archive serve``: every audit "ok", none a warning."""
    required = os.environ.get("PLAN_ARCHIVE_TEST_AUDIT") == "required"  # set by .ci/run
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        assert not required, "Node.js and npm are missing: CI requires the graphql-http audit"
        pytest.skip("Node.js and npm are not installed: the graphql-http audit needs them")
    audit = tmp_path / "audit"
    shutil.copytree(AUDIT, audit, ignore=shutil.ignore_patterns("node_modules"))
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=audit, capture_output=True, text=True
    )
    if installed.returncode != 0 and re.search(
        r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED", installed.stderr
    ):
        assert not required, f"the npm registry cannot be reached: {installed.stderr}"
        pytest.skip("the npm registry cannot be reached: the graphql-http audit needs it")
    assert installed.returncode == 0, installed.stderr
    with served(sample_settings.data_dir) as (_, port, _):
        ran = subprocess.run(
            [node, "audit.mjs", f"http://127.0.0.1:{port}/graphql"],
            cwd=audit,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    summary = re.search(r"(\d+) audits, (\d+) ok", ran.stdout)
    assert summary is not None, ran.stdout
    assert summary[1] == summary[2]
    assert int(summary[1]) > 50  # the audit ran whole


def test_the_app_answers_graphql_response_json_for_data(client: TestClient) -> None:
    answer = _post(client, {"query": YEARS})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert answer.json()["data"]["fiscalYears"]
    legacy = _post(client, {"query": YEARS}, None)
    assert legacy.headers["content-type"] == f"{JSON}; charset=utf-8"


# Names of that shape in the code that are not error codes: the environment, and the
# comparison's statuses (a field's value, documented with MeasureComparison).
NOT_CODES = {"LC_ALL", "LC_CTYPE", "PROMETHEUS_MULTIPROC_DIR"}
NOT_CODES |= {"ANNOUNCED_BUT_MISSING", "CONTINUED_UNANNOUNCED", "NEW_UNANNOUNCED"}


def test_every_error_code_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    literal = re.compile(r'"([A-Z]+(?:_[A-Z]+)+)"')  # the codes of more than one word
    used = set()
    for package in ("archive", "index", "schema", "server"):
        for source in (root / package).glob("*.py"):
            used |= set(literal.findall(source.read_text(encoding="utf-8")))
    used = {name for name in used if not name.startswith(("PLAN_ARCHIVE_", "PYTHON"))}
    used -= NOT_CODES
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Every error carries `extensions.code`") :]
    first_cells = re.findall(r"^\|([^|]+)\|", table, re.MULTILINE)
    listed = {name for cell in first_cells for name in re.findall(r"`([A-Z_]+)`", cell)}
    assert used - listed == set()
    assert {"TIMEOUT", "INTERNAL"} <= listed  # one word each


def _persisted(query: str) -> dict[str, Any]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def test_a_persisted_query_runs_by_its_hash_over_get(client: TestClient) -> None:
    query = "{ fiscalYears { year measureCount } }"
    extensions = json.dumps(_persisted(query))
    # Not known yet: the client is told so, and sends the query with its hash once.
    for accept, status in ((BOTH, 400), (JSON, 200), ("*/*", 200)):
        unknown = client.get(
            "/graphql", params={"extensions": extensions}, headers={"accept": accept}
        )
        assert unknown.status_code == status
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = _post(client, {"query": query, "extensions": _persisted(query)})
    assert registered.status_code == 200
    expected = _post(client, {"query": query}).json()
    assert registered.json() == expected
    # From then on its hash alone stands for it, in a short GET.
    short = client.get("/graphql", params={"extensions": extensions}, headers={"accept": BOTH})
    assert short.status_code == 200
    assert short.json() == expected
    with_variables = (
        "query($year: Int!) { measures(filter: {fiscalYears: [$year]}) { totalCount } }"
    )
    _post(client, {"query": with_variables, "extensions": _persisted(with_variables)})
    year = expected["data"]["fiscalYears"][0]["year"]
    answer = client.get(
        "/graphql",
        params={
            "extensions": json.dumps(_persisted(with_variables)),
            "variables": json.dumps({"year": year}),
        },
    )
    counted = answer.json()["data"]["measures"]["totalCount"]
    assert counted == expected["data"]["fiscalYears"][0]["measureCount"]


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not hex"}},
        {"persistedQuery": "yes"},
        {"persistedQuery": {"version": True, "sha256Hash": "0" * 64}},
        _persisted("{ documents { id } }"),  # the hash of another query
    ],
)
def test_a_wrong_persisted_query_is_a_bad_request(
    client: TestClient, extensions: dict[str, Any]
) -> None:
    for accept in (BOTH, JSON):  # refused before GraphQL runs: 400 in either type
        answer = _post(client, {"query": YEARS, "extensions": extensions}, accept)
        assert answer.status_code == 400
        assert "data" not in answer.json()
        assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
