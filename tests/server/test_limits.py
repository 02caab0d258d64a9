"""Request limits and server endpoints through the real ASGI app; each limit is configurable."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings, SettingsError
from tests.conftest import no_traceback, serving, settings_for


def _client(data_dir: Path, **env: str) -> TestClient:
    settings = settings_for(data_dir, **env)
    return TestClient(create_app(settings))


@pytest.fixture
def limited(sample_settings: Settings) -> Iterator[TestClient]:
    with _client(
        sample_settings.data_dir,
        PLAN_ARCHIVE_MAX_QUERY_DEPTH="3",
        PLAN_ARCHIVE_MAX_ALIASES="3",
        PLAN_ARCHIVE_MAX_TOKENS="60",
        PLAN_ARCHIVE_MAX_PAGE_SIZE="5",
        PLAN_ARCHIVE_MAX_BODY_BYTES="2000",
    ) as client:
        yield client


def _errors(client: TestClient, query: str, **variables: Any) -> list[dict[str, Any]]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    errors: list[dict[str, Any]] = response.json().get("errors", [])
    return errors


def test_defaults_refuse_what_is_over_them(client: TestClient) -> None:
    aliases = " ".join(f"a{i}: fiscalYears {{ year }}" for i in range(16))
    assert "aliases" in _errors(client, f"{{ {aliases} }}")[0]["message"]
    fields = " ".join(["year"] * 2100)
    assert "token" in _errors(client, f"{{ fiscalYears {{ {fields} }} }}")[0]["message"].lower()
    assert _errors(client, "{ measures(first: 101) { totalCount } }")[0]["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )


def test_each_limit_is_configurable(limited: TestClient) -> None:
    deep = "{ measures { edges { node { document { title } } } } }"
    assert "exceeds maximum operation depth" in _errors(limited, deep)[0]["message"]
    assert not _errors(limited, "{ measures { totalCount } }")
    aliases = " ".join(f"a{i}: fiscalYears {{ year }}" for i in range(4))
    assert "aliases" in _errors(limited, f"{{ {aliases} }}")[0]["message"]
    page = _errors(limited, "{ measures(first: 6) { totalCount } }")
    assert page[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 1 and 5" in page[0]["message"]
    big = limited.post("/graphql", json={"query": "{ fiscalYears { year } }", "pad": "x" * 3000})
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def _answer(connection: socket.socket) -> bytes:
    """What the server sends, until it closes or the body its Content-Length declares has
    come (headers and body may come in separate packets)."""
    received = b""
    while True:
        head, separator, body = received.partition(b"\r\n\r\n")
        declared = re.search(rb"content-length: (\d+)", head.lower())
        if separator and declared is not None and len(body) >= int(declared[1]):
            return received
        part = connection.recv(65536)
        if not part:
            return received
        received += part


def test_request_time_limit(sample_settings: Settings) -> None:
    """A request still unanswered after the limit gets 503, on a real server: here a client
    that sends half its body and stalls."""
    with serving(
        settings_for(sample_settings.data_dir, PLAN_ARCHIVE_REQUEST_TIMEOUT="0.3")
    ) as port:
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        with connection:
            body = b'{"query": "{ fiscalYears { year } }"}'
            connection.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            reply = _answer(connection).decode()
        assert reply.startswith("HTTP/1.1 503")
        assert '"code": "TIMEOUT"' in reply or '"code":"TIMEOUT"' in reply


def test_batching_is_off(client: TestClient) -> None:
    response = client.post("/graphql", json=[{"query": "{ fiscalYears { year } }"}] * 2)
    assert response.status_code == 400


def test_readyz_reports_store_and_index(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/readyz").json() == {
        "store": "ok",
        "index": "ok",
        "index_behind": 0,
        "index_lag_seconds": 0,
    }
    # An archive without an index: not ready until the server's follower has built it from
    # the store (#19 point 2), then ready, in step.
    with _client(tmp_path) as empty:
        seen = []
        deadline = time.monotonic() + 30
        while (response := empty.get("/readyz")).status_code == 503:
            seen.append(response.json()["index"])
            assert time.monotonic() < deadline, seen
            time.sleep(0.02)
        assert set(seen) <= {"not built", "building"}
        assert response.json() == {
            "store": "ok",
            "index": "ok",
            "index_behind": 0,
            "index_lag_seconds": 0,
        }


def test_graphiql_can_be_turned_off(sample_settings: Settings) -> None:
    html = {"Accept": "text/html"}
    with _client(sample_settings.data_dir) as on:
        assert "graphiql" in on.get("/graphql", headers=html).text.lower()
    with _client(sample_settings.data_dir, PLAN_ARCHIVE_GRAPHIQL="false") as off:
        assert off.get("/graphql", headers=html).status_code == 404


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAN_ARCHIVE_MAX_QUERY_DEPTH", "deep"),
        ("PLAN_ARCHIVE_REQUEST_TIMEOUT", "0"),
        ("PLAN_ARCHIVE_GRAPHIQL", "maybe"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value}, env_file=None)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"query":"{fiscalYears{year}}\xff"}', "application/json"),
        (b'"just a string"', "application/json"),
        (b"query=1", "text/plain"),
        (
            b'{"query":"{fiscalYears{year}}","v":' + b"[" * 10**5 + b"]" * 10**5 + b"}",
            "application/json",
        ),
    ],
)
def test_unreadable_requests_get_a_graphql_shaped_error(
    client: TestClient, body: bytes, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client's mistake: no traceback in the log (bad UTF-8 and deep nesting left one)."""
    response = client.post("/graphql", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    no_traceback(caplog)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"garbage", "multipart/form-data; boundary=xx", "Invalid multipart data."),
        (b"garbage", "multipart/form-data", "Missing boundary in multipart."),
    ],
)
def test_an_unreadable_upload_is_a_bad_request(
    sample_settings: Settings,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    message: str,
) -> None:
    with _client(sample_settings.data_dir, PLAN_ARCHIVE_API_TOKENS="token") as client:
        response = client.post(
            "/graphql",
            content=body,
            headers={"content-type": content_type, "Authorization": "Bearer token"},
        )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": message,
        "extensions": {"code": "BAD_REQUEST"},
    }
    no_traceback(caplog)


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        ('{"query": "{ fiscalYears { year } }"}', '[["variables.file"]]'),
        ('{"query": "{ fiscalYears { year } }"}', '{"0": [1]}'),
        ('{"query": "{ fiscalYears { year } }"}', '{"0": "variables.file"}'),
        ('["not", "an", "operation"]', '{"0": ["0.file"]}'),
    ],
)
def test_a_malformed_multipart_map_is_a_bad_request(
    sample_settings: Settings, caplog: pytest.LogCaptureFixture, operations: str, files_map: str
) -> None:
    with _client(sample_settings.data_dir, PLAN_ARCHIVE_API_TOKENS="token") as client:
        response = client.post(
            "/graphql",
            data={"operations": operations, "map": files_map},
            files={"0": ("report.txt", b"text", "text/plain")},
            headers={"Authorization": "Bearer token"},
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    no_traceback(caplog)


def test_a_mutation_over_get_is_refused_as_json(client: TestClient) -> None:
    response = client.get(
        "/graphql", params={"query": 'mutation { deleteDocument(id: "x") { id } }'}
    )
    assert response.status_code == 405  # GraphQL over HTTP
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def _costly(aliases: int, page: int) -> str:
    """A query inside the depth, alias and token limits that asks for many document texts."""
    field = f"measures(first: {page}) {{ edges {{ node {{ document {{ rawText }} }} }} }}"
    return "{ " + " ".join(f"a{i}: {field}" for i in range(aliases)) + " }"


def test_query_cost_limit_refuses_big_answers_before_running(client: TestClient) -> None:
    refused = client.post("/graphql", json={"query": _costly(15, 100)})
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "estimated cost" in error["message"]
    assert refused.json().get("data") is None
    # The same shape, small enough, runs; the cost follows `first`, also through variables.
    assert "errors" not in client.post("/graphql", json={"query": _costly(1, 20)}).json()
    by_variable = """query($n: Int) { measures(first: $n) {
        edges { node { document { rawText } } } } }"""
    small = client.post("/graphql", json={"query": by_variable, "variables": {"n": 5}})
    assert "errors" not in small.json()
    big = client.post(
        "/graphql",
        json={
            "query": "query($n: Int) { "
            + " ".join(
                f"a{i}: measures(first: $n) {{ edges {{ node {{ document {{ rawText }} }} }} }}"
                for i in range(15)
            )
            + " }",
            "variables": {"n": 100},
        },
    )
    assert big.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_query_cost_counts_every_fragment_spread(client: TestClient) -> None:
    spreads = " ".join(f"a{i}: measures(first: 100) {{ ...Texts }}" for i in range(12))
    query = f"""{{ {spreads} }}
        fragment Texts on MeasureConnection {{ edges {{ node {{ document {{ text }} }} }} }}"""
    error = client.post("/graphql", json={"query": query}).json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_query_cost_limit_is_configurable(sample_settings: Settings) -> None:
    with _client(sample_settings.data_dir, PLAN_ARCHIVE_MAX_COST="50") as limited:
        assert not _errors(limited, "{ measures(first: 5) { edges { node { title } } } }")
        error = _errors(limited, "{ measures(first: 50) { edges { node { title } } } }")[0]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($d: [String!]) { measures(filter: {departments: $d}) { totalCount } }", "d"),
        ("query($q: String!) { search(query: $q) { totalCount } }", "q"),
    ],
)
def test_lone_surrogates_are_bad_user_input(client: TestClient, query: str, variables: str) -> None:
    """Refused before GraphQL runs (400), with the code GraphQL gives a NUL (schema.inputs)."""
    value = ["\ud800"] if variables == "d" else "a\ud800"
    body = json.dumps({"query": query, "variables": {variables: value}})  # ASCII: \ud800
    response = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "surrogate" in error["message"]


def test_query_cost_counts_root_lists_as_the_archive_holds_them(
    sample_settings: Settings,
) -> None:
    """One document in the sample archive: its text costs one text, not a guess of fifty."""
    with _client(sample_settings.data_dir, PLAN_ARCHIVE_MAX_COST="300") as limited:
        assert not _errors(limited, "{ documents { rawText } }")
        error = _errors(limited, "{ documents { rawText text } }")[0]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"


def _chunks(*parts: bytes) -> Iterator[bytes]:
    """A body without Content-Length: the client sends it chunked."""
    yield from parts


def test_a_chunked_body_over_the_limit_is_413(
    sample_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """No Content-Length to refuse it by: the body is counted as it comes. Reading it failed
    inside GraphQL's request handling, which answered 400 and logged a traceback."""
    caplog.set_level(logging.INFO)
    with _client(
        sample_settings.data_dir,
        PLAN_ARCHIVE_MAX_BODY_BYTES="2000",
        PLAN_ARCHIVE_MAX_UPLOAD_BYTES="5000",
        PLAN_ARCHIVE_API_TOKENS="token",
    ) as client:
        query = json.dumps({"query": "{ fiscalYears { year } }", "pad": "x" * 1500}).encode()
        fits = client.post(
            "/graphql", content=_chunks(query), headers={"content-type": "application/json"}
        )
        assert fits.json() == {"data": {"fiscalYears": [{"year": 2020}]}}
        big = client.post(
            "/graphql",
            content=_chunks(query, b" " * 1000),
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert big.json()["errors"][0] == {
            "message": "the request body is over 2000 bytes",
            "extensions": {"code": "PAYLOAD_TOO_LARGE", "reason": "PAYLOAD_TOO_LARGE"},
        }
        # An upload: the upload cap, counted the same way.
        upload = client.post(
            "/graphql",
            content=_chunks(
                b'--xx\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n',
                b'--xx\r\nContent-Disposition: form-data; name="0"; filename="r.txt"\r\n\r\n',
                b"x" * 6000,
                b"\r\n--xx--\r\n",
            ),
            headers={
                "content-type": "multipart/form-data; boundary=xx",
                "Authorization": "Bearer token",
            },
        )
        assert upload.status_code == 413
        assert upload.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert "5000 bytes" in upload.json()["errors"][0]["message"]
    no_traceback(caplog)


def test_a_chunked_body_over_the_limit_is_413_on_a_real_server(sample_settings: Settings) -> None:
    """As uvicorn hands a chunked body over: chunk by chunk, as they come off the wire."""
    with serving(
        settings_for(sample_settings.data_dir, PLAN_ARCHIVE_MAX_BODY_BYTES="2000")
    ) as port:
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        with connection:
            connection.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 1000
            try:
                for _ in range(5):
                    connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                connection.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may answer and close before the last chunk
            received = _answer(connection)
        assert received.startswith(b"HTTP/1.1 413"), received[:200]
        assert b"PAYLOAD_TOO_LARGE" in received
