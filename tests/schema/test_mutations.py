"""Mutations through the real ASGI app: bearer tokens, multipart upload, refusals that change
nothing."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from archive.parse import parse_report
from index.writing import current_dir, open_writer
from tests import pdfs, variants
from tests.conftest import SAMPLE, AppClient, settings_for

TOKEN = "s3cret-token"
INGEST = """
mutation($file: Upload!, $year: Int) {
  ingestDocument(file: $file, fiscalYear: $year) {
    id municipality fiscalYear measureCount sourceName
  }
}
"""
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) { id fiscalYear measureCount } }"
COUNT = '{ measures { totalCount } search(query: "人事評価") { totalCount } }'


@pytest.fixture
def writable(tmp_path: Path, app_client: AppClient) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=f"other,{TOKEN}")
    with app_client(settings) as client:
        yield client


def _upload(client: TestClient, data: bytes, token: str | None = TOKEN, **variables: Any) -> Any:
    operations = json.dumps({"query": INGEST, "variables": {"file": None, **variables}})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("../../etc/report.txt", data, "text/plain")},
        headers=headers,
    )
    return response


def _counts(client: TestClient) -> tuple[int, int]:
    response = client.post("/graphql", json={"query": COUNT})
    data = response.json()["data"]
    return data["measures"]["totalCount"], data["search"]["totalCount"]


def test_ingest_by_upload_updates_store_and_index(writable: TestClient) -> None:
    response = _upload(writable, SAMPLE.read_bytes())
    assert response.status_code == 200
    document = response.json()["data"]["ingestDocument"]
    assert (document["municipality"], document["fiscalYear"], document["measureCount"]) == (
        "日立市",
        2020,
        12,
    )
    assert document["sourceName"] == "report.txt"  # the path a client sent is not kept
    assert _counts(writable) == (12, 1)


def test_upload_without_a_valid_token_is_refused_and_changes_nothing(writable: TestClient) -> None:
    for token in (None, "wrong", TOKEN + "x"):
        response = _upload(writable, SAMPLE.read_bytes(), token=token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = writable.post("/graphql", json={"query": "{ measures { totalCount } }"}).json()
    assert body["data"]["measures"]["totalCount"] == 0


def test_a_refused_file_is_bad_user_input_and_changes_nothing(writable: TestClient) -> None:
    _upload(writable, SAMPLE.read_bytes())
    body = _upload(writable, b"\x00\x01binary").json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "binary" in body["errors"][0]["message"]
    assert _counts(writable) == (12, 1)


def test_a_pdf_upload_is_read_and_an_unreadable_one_changes_nothing(writable: TestClient) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    stored = _upload(writable, pdfs.table(text)).json()
    assert stored["data"]["ingestDocument"]["measureCount"] == len(parse_report(text).measures)
    before = _counts(writable)
    for data, reason in ((pdfs.scanned(), "needs OCR"), (pdfs.encrypted(text), "password")):
        body = _upload(writable, data).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert reason in body["errors"][0]["message"]
    assert _counts(writable) == before


def test_delete_needs_a_token_and_returns_what_it_deleted(writable: TestClient) -> None:
    document = _upload(writable, SAMPLE.read_bytes()).json()["data"]["ingestDocument"]
    refused = writable.post("/graphql", json={"query": DELETE, "variables": {"id": document["id"]}})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert _counts(writable) == (12, 1)
    deleted = writable.post(
        "/graphql",
        json={"query": DELETE, "variables": {"id": document["id"]}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert deleted["data"]["deleteDocument"]["fiscalYear"] == 2020
    assert deleted["data"]["deleteDocument"]["measureCount"] == 12  # what was deleted
    assert _counts(writable) == (0, 0)
    again = writable.post(
        "/graphql",
        json={"query": DELETE, "variables": {"id": document["id"]}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_without_configured_tokens_every_mutation_is_refused(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path)
    with app_client(settings) as client:
        response = _upload(client, SAMPLE.read_bytes(), token="anything")
        assert response.status_code == 401
        body = client.post(
            "/graphql",
            json={"query": DELETE, "variables": {"id": "RG9jdW1lbnQ6MQ=="}},
            headers={"Authorization": "Bearer anything"},
        ).json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_ingest_while_another_writer_holds_the_archive_is_refused_clearly(
    tmp_path: Path,
    app_client: AppClient,
) -> None:
    from sqlalchemy import text

    from archive.db import writer
    from server.resources import open_store

    settings = settings_for(
        tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN, PLAN_ARCHIVE_LOCK_TIMEOUT="0.3"
    )
    with app_client(settings) as client:
        engine = open_store(settings)
        with writer(engine)() as session, session.begin():
            session.execute(text("SELECT 1"))  # holds the writer's lock
            body = _upload(client, SAMPLE.read_bytes()).json()
        engine.dispose()
        error = body["errors"][0]
        assert error["extensions"]["code"] == "STORE_BUSY"
        assert "another writer" in error["message"]
        assert "SELECT" not in error["message"]
        count = client.post("/graphql", json={"query": "{ measures { totalCount } }"}).json()
        assert count["data"]["measures"]["totalCount"] == 0


def test_an_upload_does_not_wait_for_a_busy_index(writable: TestClient, tmp_path: Path) -> None:
    """With another writer holding the index, an upload is stored and answered at once; the
    index takes it in the background as soon as the other writer is done."""
    assert _upload(writable, SAMPLE.read_bytes()).status_code == 200
    folder = current_dir(tmp_path / "index")
    assert folder is not None
    holder = open_writer(folder, timeout=5)
    try:
        started = time.monotonic()
        response = _upload(writable, variants.other_city(SAMPLE.read_text(encoding="utf-8"), 1))
        took = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["data"]["ingestDocument"]["municipality"] == variants.city_name(1)
        assert took < 10  # the index's lock would have held it for 30 s
        assert _counts(writable) == (24, 1)  # stored; not yet searchable
    finally:
        holder.cancel()
    deadline = time.monotonic() + 30
    while _counts(writable) != (24, 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _counts(writable) == (24, 2)


def test_an_upload_refused_before_it_is_read_leaves_no_file_open(writable: TestClient) -> None:
    """Refused before the resolver runs (here: an unknown field), nobody reads the upload;
    the server closes it (pytest turns the unclosed file's ResourceWarning into an error)."""
    operations = json.dumps(
        {"query": INGEST.replace("sourceName", "nope"), "variables": {"file": None}}
    )
    response = writable.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.file"]})},
        # Over 1 MiB, so the upload is spooled to a file on disk (an open one warns).
        files={"0": ("report.txt", SAMPLE.read_bytes() * 200, "text/plain")},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    gc.collect()  # a file left open warns when collected


def test_a_replacement_in_the_same_operation_answers_the_new_version(
    writable: TestClient, sample_text: str
) -> None:
    """Ids are kept across a replacement: the second upload's answer must be read after its
    own write, not from the snapshot the first one's answer was read in."""
    query = """mutation($f1: Upload!, $f2: Upload!) {
      a: ingestDocument(file: $f1) { id measureCount sourceName }
      b: ingestDocument(file: $f2) { id measureCount sourceName
        measures(first: 100) { edges { node { number } } } } }"""
    corrected = variants.dropped_measure(sample_text, "05")
    response = writable.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"f1": None, "f2": None}}),
            "map": json.dumps({"0": ["variables.f1"], "1": ["variables.f2"]}),
        },
        files={
            "0": ("v1.txt", SAMPLE.read_bytes(), "text/plain"),
            "1": ("v2.txt", corrected, "text/plain"),
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    body = response.json()
    assert "errors" not in body, body
    first, second = body["data"]["a"], body["data"]["b"]
    assert first["id"] == second["id"]
    assert (first["measureCount"], second["measureCount"]) == (12, 11)
    assert second["sourceName"] == "v2.txt"
    numbers = [edge["node"]["number"] for edge in second["measures"]["edges"]]
    assert "05" not in numbers
    assert len(numbers) == 11
