"""Log lines through the real ASGI app: one JSON access line per request, and every record
emitted while a request is handled carries that request's id, which the response returns."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.testclient import TestClient

from archive import db
from server.logs import log_handler
from tests.conftest import SAMPLE, AppClient, graphql, settings_for
from tests.schema.test_mutations import TOKEN, _upload


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Everything logged meanwhile, as the server's JSON handler writes it."""
    stream = io.StringIO()
    handler = log_handler("json", stream)
    root, ours = logging.getLogger(), logging.getLogger("plan_archive")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    ours.setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [r for r in _records(stream) if r["logger"] == "plan_archive.access"]


def test_one_json_line_per_request_with_the_id_returned(
    client: TestClient, lines: io.StringIO
) -> None:
    ids = []
    for query in (
        "query Years { fiscalYears { year } }",
        '{ search(query: "防災") { totalCount } }',
    ):
        response = client.post("/graphql", json={"query": query})
        ids.append(response.headers["x-request-id"])
    ids.append(client.get("/healthz").headers["x-request-id"])
    access = _access(lines)
    assert [r["request_id"] for r in access] == ids
    assert len(set(ids)) == 3
    first = access[0]
    assert (first["method"], first["path"], first["status"]) == ("POST", "/graphql", 200)
    assert first["operation"] == "fiscalYears"  # the label: the root fields
    assert first["operation_name"] == "Years"  # the client's name, in the line alone
    assert first["response_bytes"] > 0
    assert first["duration_ms"] >= 0
    assert access[1]["operation"] == "search"
    assert access[1]["operation_name"] is None
    assert access[2]["operation"] is None


def test_a_sane_incoming_id_is_echoed(client: TestClient, lines: io.StringIO) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9:2/b+c="})
    assert response.headers["x-request-id"] == "lb-7f3a.9:2/b+c="
    assert _access(lines)[0]["request_id"] == "lb-7f3a.9:2/b+c="


@pytest.mark.parametrize(
    "hostile", ["x" * 129, "a\r\nSet-Cookie: y=1", "id with spaces", "<script>", "", "é"]
)
def test_a_hostile_incoming_id_is_replaced(
    client: TestClient, lines: io.StringIO, hostile: str
) -> None:
    # Raw ASGI headers, as a proxy might pass them: a client library would refuse some.
    response = client.get("/healthz", headers=[(b"x-request-id", hostile.encode())])
    returned = response.headers["x-request-id"]
    assert returned != hostile
    assert len(returned) == 32
    assert returned.isalnum()
    assert _access(lines)[0]["request_id"] == returned
    if hostile:
        assert hostile not in lines.getvalue()


def test_errors_logged_while_handling_carry_the_id(
    tmp_path: Path, lines: io.StringIO, app_client: AppClient
) -> None:
    """A server's fault (its store lost a table; a client's mistake logs no problem)."""
    settings = settings_for(tmp_path)
    with app_client(settings) as client:
        engine = db.create_store_engine(settings.database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE measure_departments"))
            connection.execute(text("DROP TABLE measures"))
        engine.dispose()
        response = client.post("/graphql", json={"query": "{ measures { totalCount } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    records = _records(lines)
    problems = [r for r in records if r["level"] in ("WARNING", "ERROR")]
    assert problems, records
    assert {r["request_id"] for r in problems} == {response.headers["x-request-id"]}
    assert all(r["request_id"] == response.headers["x-request-id"] for r in records)


def test_tokens_and_variables_never_reach_the_logs(
    tmp_path: Path, lines: io.StringIO, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    with app_client(settings) as client:
        assert "errors" not in _upload(client, SAMPLE.read_bytes()).json()
        _upload(client, b"\x00 not a report")
        graphql(client, "query($q: String!) { search(query: $q) { totalCount } }", q="秘密の語")
        client.get(
            "/graphql?query={fiscalYears{year}}&variables={}",
            headers={"accept": "application/json"},
        )
    text = lines.getvalue()
    assert TOKEN not in text
    assert "authorization" not in text.lower()
    assert "Bearer" not in text
    assert "秘密の語" not in text
    assert "ingestDocument" in text  # the upload's operation is named, by its root field
    assert len(_access(lines)) == 4


def test_the_text_format_carries_the_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = log_handler("text", stream)
    access = logging.getLogger("plan_archive.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        response = client.get("/healthz")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    line = stream.getvalue().strip()
    assert f"[{response.headers['x-request-id']}] GET /healthz 200" in line


def test_only_a_sane_operation_name_reaches_the_line(
    client: TestClient, lines: io.StringIO
) -> None:
    client.post("/graphql", json={"query": "query " + "x" * 200 + " { fiscalYears { year } }"})
    client.post("/graphql", json={"query": "query Fine { fiscalYears { year } }"})
    access = _access(lines)
    assert [r["operation_name"] for r in access] == [None, "Fine"]
    assert [r["operation"] for r in access] == ["fiscalYears", "fiscalYears"]
    assert "x" * 65 not in lines.getvalue()


def test_sql_parameters_never_reach_a_traceback(tmp_path: Path, lines: io.StringIO) -> None:
    """A statement error's message quotes its parameters: the JSON line leaves them out."""
    secret = "".join(["秘密", "の語"])  # not in this file's source, which tracebacks quote
    engine = db.create_store_engine(settings_for(tmp_path).database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})
    except SQLAlchemyError:
        logging.getLogger("plan_archive.server").exception("the store failed")
    finally:
        engine.dispose()
    (record,) = [r for r in _records(lines) if r["message"] == "the store failed"]
    assert "no_such_table" in record["exception"]  # the statement and the error stay
    assert "[parameters: not logged]" in record["exception"]
    assert secret not in lines.getvalue()


def test_a_persisted_query_sent_by_hash_is_labelled_by_its_query(
    client: TestClient, lines: io.StringIO
) -> None:
    query = "query Years { fiscalYears { year } documents { id } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    client.post("/graphql", json={"query": query, "extensions": extensions})
    by_hash = client.get("/graphql", params={"extensions": json.dumps(extensions)})
    assert by_hash.json()["data"]["fiscalYears"]
    access = _access(lines)
    assert [line["operation"] for line in access] == ["documents,fiscalYears"] * 2
