"""/metrics through the real ASGI app, and across the workers of a real `plan-archive serve`:
each figure moves by exactly what was done, whichever process did it."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from archive import db
from schema.root import build_schema
from server.metrics import Metrics
from server.middleware import Observer
from server.settings import Settings
from tests.conftest import (
    SAMPLE,
    AppClient,
    ArchiveCopy,
    free_port,
    graphql,
    post_graphql,
    served,
    settings_for,
)
from tests.schema.test_mutations import TOKEN, _upload
from tests.server.test_bulk import _run

FIXTURES = Path(__file__).parent.parent / "fixtures"


def figure(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_request_counts_move_by_the_requests_sent(client: TestClient) -> None:
    before = client.get("/metrics").text
    for _ in range(3):
        graphql(client, "query Years { fiscalYears { year } }")
    graphql(client, "{ departments { name } fiscalYears { year } }")
    client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    after = client.get("/metrics").text

    def moved(name: str, **labels: str) -> float:
        return figure(after, name, **labels) - figure(before, name, **labels)

    requests = "plan_archive_requests_total"
    assert moved(requests, path="/graphql", operation="fiscalYears", status="2xx") == 3
    assert moved(requests, path="/graphql", operation="departments,fiscalYears") == 1
    assert moved(requests, path="/graphql", operation="<invalid>", status="4xx") == 1
    assert moved(requests, path="/metrics", status="2xx") == 1  # the first scrape
    assert moved("plan_archive_request_duration_seconds_count", operation="fiscalYears") == 3
    # The repeats were answered from the response cache.
    assert moved("plan_archive_response_cache_lookups_total", result="hit") >= 2
    # One lookup per GraphQL POST with a JSON body, the unreadable one included.
    assert moved("plan_archive_response_cache_lookups_total") == 5


def _operations(text: str) -> set[str]:
    return {
        sample.labels["operation"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "plan_archive_requests_total"
    }


def test_operation_labels_are_made_of_the_schemas_root_fields(client: TestClient) -> None:
    """Operation names, aliases and made-up fields cannot add labels: only the schema's root
    fields make them, and an operation selecting any other field is <unknown>."""
    for index in range(120):
        graphql(client, f"query Op{index} {{ y{index}: fiscalYears {{ year }} }}")
        client.post("/graphql", json={"query": f"{{ junk{index} }}"})
    client.post("/graphql", json={"query": "{ fiscalYears { year } junk }"})
    graphql(client, "query " + "x" * 200 + " { departments { name } }")
    text = client.get("/metrics").text
    known = set(build_schema()._schema.query_type.fields)  # type: ignore[union-attr]
    made_of_fields = {o for o in _operations(text) if not o.startswith("<") and o}
    assert made_of_fields
    assert all(set(o.split(",")) <= known for o in made_of_fields)
    requests = "plan_archive_requests_total"
    assert figure(text, requests, path="/graphql", operation="fiscalYears") == 120
    assert figure(text, requests, path="/graphql", operation="<unknown>") == 121
    assert figure(text, requests, path="/graphql", operation="departments") == 1
    assert figure(text, requests, operation="<other>") == 0


def test_each_search_is_timed(client: TestClient) -> None:
    before = figure(client.get("/metrics").text, "plan_archive_search_duration_seconds_count")
    for word in ("人事評価", "防災", "子育て"):
        graphql(client, "query($q: String!) { search(query: $q) { totalCount } }", q=word)
    after = figure(client.get("/metrics").text, "plan_archive_search_duration_seconds_count")
    assert after - before == 3


def test_an_upload_is_counted_and_the_store_figures_follow(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    with app_client(settings) as client:
        before = client.get("/metrics").text
        assert figure(before, "plan_archive_documents") == 0
        assert figure(before, "plan_archive_index_generation", generation="none") == 0
        assert "errors" not in _upload(client, SAMPLE.read_bytes()).json()
        assert "errors" in _upload(client, b"\x00\x01 not a report").json()
        after = client.get("/metrics").text
    documents = "plan_archive_ingested_documents_total"
    assert figure(after, documents, via="api", outcome="stored") == 1
    assert figure(after, documents, via="api", outcome="refused") == 1
    assert figure(after, "plan_archive_ingested_measures_total", via="api") == 12
    assert figure(after, "plan_archive_documents") == 1
    assert figure(after, "plan_archive_measures") == 12
    assert figure(after, "plan_archive_index_pending_tasks") == 0
    assert figure(after, "plan_archive_index_generation") == 1


def _lose_a_table(settings: Settings, table: str) -> None:
    """A real store failure from then on: a table the queries need is gone."""
    engine = db.create_store_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {table} RENAME TO {table}_gone"))
    engine.dispose()


def _names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_store_error_leaves_only_the_store_figures_out(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path)
    with app_client(settings) as client:
        assert figure(client.get("/metrics").text, "plan_archive_store_up") == 1
        _lose_a_table(settings, "index_tasks")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert figure(response.text, "plan_archive_store_up") == 0
    store_figures = {"plan_archive_documents", "plan_archive_measures"}
    assert not store_figures & _names(response.text)
    assert "plan_archive_index_pending_tasks" not in _names(response.text)
    assert figure(response.text, "plan_archive_requests_total", path="/metrics") == 1


def test_metrics_can_be_switched_off(tmp_path: Path, app_client: AppClient) -> None:
    with app_client(settings_for(tmp_path, PLAN_ARCHIVE_METRICS="off")) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/healthz").headers["x-request-id"]  # logs do not depend on it


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text: str = answer.read().decode()
    return text


COUNT = "query Count { measures { totalCount } }"


def _answered_by(folder: Path) -> set[str]:
    """The processes whose own figures file counts a Count request."""
    found = set()
    for path in folder.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                if sample.labels.get("operation") == "measures" and sample.value > 0:
                    found.add(path.stem)
    return found


def test_two_workers_sum_to_the_requests_sent(tmp_path: Path, sample_cli_data: Path) -> None:
    """A scrape reaches one worker; every scrape still shows every worker's requests, and
    the ingests a separate `plan-archive ingest` process made."""
    folder = tmp_path / "data" / "metrics"
    folder.mkdir()
    (folder / "notes.txt").write_text("not the server's")  # a folder may hold other files
    (folder / "counter_999999.db").write_bytes(b"")  # a figures file of an earlier run
    with served(tmp_path / "data", workers=2) as (_, port, env):
        # Concurrent requests until both workers answered some (the kernel picks who
        # accepts), then every scrape, whichever worker answers it, counts them all.
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while len(_answered_by(tmp_path / "data" / "metrics")) < 2 and sent < 2000:
                answers = list(pool.map(lambda _: post_graphql(port, COUNT), range(40)))
                assert all("errors" not in answer for answer in answers)
                sent += len(answers)
        assert len(_answered_by(tmp_path / "data" / "metrics")) >= 2
        assert (folder / "notes.txt").read_text() == "not the server's"
        assert not (folder / "counter_999999.db").exists()
        for _ in range(6):
            text = _scrape(port)
            assert figure(text, "plan_archive_requests_total", operation="measures") == sent
            assert figure(text, "plan_archive_measures") == 12
        # A second server on the same data folder refuses to start, and erases nothing.
        other_port = free_port()
        second = subprocess.run(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(other_port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert f"another plan-archive serve is using {folder}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        text = _scrape(port)
        assert figure(text, "plan_archive_requests_total", operation="measures") == sent
        report = FIXTURES / "hitachi-action-plan-fy2021.txt"
        assert _run(tmp_path, "ingest", str(report), str(tmp_path / "missing.txt"))[0] == 1
        text = _scrape(port)
        documents = "plan_archive_ingested_documents_total"
        assert figure(text, documents, via="cli", outcome="stored") == 1
        assert figure(text, documents, via="cli", outcome="refused") == 1
        assert figure(text, "plan_archive_ingested_measures_total", via="cli") == 12
        assert figure(text, "plan_archive_measures") == 24


def test_a_body_refused_before_routing_is_counted_under_its_route(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_MAX_BODY_BYTES="1000")
    with app_client(settings) as client:
        refused = client.post(
            "/graphql", content=b"x" * 2000, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 413
        client.get("/no-such-page")
        text = client.get("/metrics").text
    requests = "plan_archive_requests_total"
    assert figure(text, requests, path="/graphql", status="4xx") == 1
    assert figure(text, requests, path="<other>", status="4xx") == 1  # the unknown page


async def _stream_that_fails(scope: Scope, receive: Receive, send: Send) -> None:
    """An answer that starts, sends a chunk, then fails: as an export whose reads fail."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"id,title\n", "more_body": True})
    raise RuntimeError("the store went away mid-stream")


def test_an_answer_cut_short_is_not_a_success(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    observer = Observer(
        _stream_that_fails,
        metrics=metrics,
        paths=frozenset({"/export.csv"}),
    )
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "GET", "path": "/export.csv", "headers": []}
    with caplog.at_level(logging.INFO, logger="plan_archive"):
        asyncio.run(observer(scope, receive, send))
    text = metrics.scrape().decode()
    requests = "plan_archive_requests_total"
    assert figure(text, requests, path="/export.csv", status="incomplete") == 1
    assert figure(text, requests, status="2xx") == 0
    assert messages[-1].get("more_body") is True  # the client saw no end either
    access = [r for r in caplog.records if r.name == "plan_archive.access"]
    assert len(access) == 1
    line = access[0].access  # type: ignore[attr-defined]
    assert (line["status"], line["complete"], line["response_bytes"]) == (200, False, 9)


def test_an_in_memory_registry_is_refused_in_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set at import, figures go to that folder's files: a
    Metrics() that would scrape its own empty registry refuses instead."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    script = "from server.metrics import Metrics\nMetrics()"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parent.parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "RuntimeError: prometheus_client is in multiprocess mode" in done.stderr
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # conftest took the shell's away


def test_a_store_failure_is_counted_as_failed_not_refused(
    tmp_path: Path, app_client: AppClient
) -> None:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    with app_client(settings, raise_server_exceptions=False) as client:
        _lose_a_table(settings, "index_tasks")  # storing a report queues index work
        assert "errors" in _upload(client, SAMPLE.read_bytes()).json()
        assert "errors" in _upload(client, b"\x00\x01 not a report").json()
        text = client.get("/metrics").text
    documents = "plan_archive_ingested_documents_total"
    assert figure(text, documents, via="api", outcome="failed") == 1
    assert figure(text, documents, via="api", outcome="refused") == 1
    assert figure(text, documents, via="api", outcome="stored") == 0


def test_the_cli_counts_a_store_failure_as_failed(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "metrics"
    folder.mkdir(parents=True)  # as a server made it: the CLI adds its counts there
    assert _run(tmp_path, "ingest", str(SAMPLE))[0] == 0
    _lose_a_table(settings_for(tmp_path / "data"), "measure_departments")  # store-only
    report = FIXTURES / "hitachi-action-plan-fy2021.txt"
    assert _run(tmp_path, "ingest", str(report), str(tmp_path / "missing.txt"))[0] == 1
    counted: dict[str, float] = {}
    files = [str(path) for path in folder.glob("counter_*.db")]
    for metric in MultiProcessCollector.merge(files):  # type: ignore[no-untyped-call]
        for sample in metric.samples:
            if sample.name == "plan_archive_ingested_documents_total":
                counted[sample.labels["outcome"]] = sample.value
    assert counted == {"stored": 1, "failed": 1, "refused": 1}


def test_the_index_lag_is_the_age_of_the_oldest_change_not_applied(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """#19 point 2: a change stored by another process shows as one entry behind, as old as
    it is, until this node's follower applies it."""
    import time

    from archive.ingest import prepare_document, store_document
    from tests.conftest import REPORTS

    settings = archive_copy(tmp_path / "data", [SAMPLE])
    engine = db.create_store_engine(settings.database_url)
    with db.writer(engine)() as session, session.begin():
        store_document(session, prepare_document(REPORTS[0].read_bytes(), REPORTS[0].name))
    engine.dispose()
    time.sleep(0.3)
    with app_client(settings_for(settings.data_dir, PLAN_ARCHIVE_INDEX_POLL="0")) as client:
        behind = client.get("/metrics").text
    assert figure(behind, "plan_archive_index_pending_tasks") == 1
    assert figure(behind, "plan_archive_index_lag_seconds") >= 0.3
    with app_client(settings_for(settings.data_dir, PLAN_ARCHIVE_INDEX_POLL="0.1")) as client:
        deadline = time.monotonic() + 30
        while figure(text := client.get("/metrics").text, "plan_archive_index_pending_tasks"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert figure(text, "plan_archive_index_lag_seconds") == 0
