"""/metrics through the real ASGI app, and across the workers of a real `plan-archive serve`:
each figure moves by exactly what was done, whichever process did it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from server.app import create_app
from tests.conftest import SAMPLE, graphql, post_graphql, settings_for, store_env
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
    assert moved(requests, path="/graphql", operation="Years", status="2xx") == 3
    assert moved(requests, path="/graphql", operation="departments,fiscalYears") == 1
    assert moved(requests, path="/graphql", operation="<invalid>", status="4xx") == 1
    assert moved(requests, path="/metrics", status="2xx") == 1  # the first scrape
    assert moved("plan_archive_request_duration_seconds_count", operation="Years") == 3
    # The repeats were answered from the response cache.
    assert moved("plan_archive_response_cache_lookups_total", result="hit") >= 2
    # One lookup per GraphQL POST with a JSON body, the unreadable one included.
    assert moved("plan_archive_response_cache_lookups_total") == 5


def test_operation_labels_are_bounded(client: TestClient) -> None:
    for index in range(120):
        graphql(client, f"query Op{index} {{ fiscalYears {{ year }} }}")
    graphql(client, "query " + "x" * 200 + " { fiscalYears { year } }")
    text = client.get("/metrics").text
    operations = {
        sample.labels["operation"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "plan_archive_requests_total"
    }
    assert len(operations) <= 100 + 3  # the bound, and <invalid>, <other> and "" (no GraphQL)
    assert figure(text, "plan_archive_requests_total", operation="<other>") >= 20
    assert all(len(operation) <= 64 for operation in operations)


def test_each_search_is_timed(client: TestClient) -> None:
    before = figure(client.get("/metrics").text, "plan_archive_search_duration_seconds_count")
    for word in ("人事評価", "防災", "子育て"):
        graphql(client, "query($q: String!) { search(query: $q) { totalCount } }", q=word)
    after = figure(client.get("/metrics").text, "plan_archive_search_duration_seconds_count")
    assert after - before == 3


def test_an_upload_is_counted_and_the_store_figures_follow(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, PLAN_ARCHIVE_API_TOKENS=TOKEN)
    with TestClient(create_app(settings)) as client:
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


def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, PLAN_ARCHIVE_METRICS="off"))) as client:
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
                if sample.labels.get("operation") == "Count" and sample.value > 0:
                    found.add(path.stem)
    return found


def test_two_workers_sum_to_the_requests_sent(tmp_path: Path) -> None:
    """A scrape reaches one worker; every scrape still shows every worker's requests, and
    the ingests a separate `plan-archive ingest` process made."""
    assert _run(tmp_path, "ingest", str(SAMPLE))[0] == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PLAN_ARCHIVE_DATABASE_URL": "", **store_env(tmp_path / "data")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _scrape(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Concurrent requests until both workers answered some (the kernel picks who
        # accepts), then every scrape, whichever worker answers it, counts them all.
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while len(_answered_by(tmp_path / "data" / "metrics")) < 2 and sent < 2000:
                answers = list(pool.map(lambda _: post_graphql(port, COUNT), range(40)))
                assert all("errors" not in answer for answer in answers)
                sent += len(answers)
        assert len(_answered_by(tmp_path / "data" / "metrics")) >= 2
        for _ in range(6):
            text = _scrape(port)
            assert figure(text, "plan_archive_requests_total", operation="Count") == sent
            assert figure(text, "plan_archive_measures") == 12
        report = FIXTURES / "hitachi-action-plan-fy2021.txt"
        assert _run(tmp_path, "ingest", str(report), str(tmp_path / "missing.txt"))[0] == 1
        text = _scrape(port)
        documents = "plan_archive_ingested_documents_total"
        assert figure(text, documents, via="cli", outcome="stored") == 1
        assert figure(text, documents, via="cli", outcome="refused") == 1
        assert figure(text, "plan_archive_ingested_measures_total", via="cli") == 12
        assert figure(text, "plan_archive_measures") == 24
    finally:
        server.terminate()
        server.wait(timeout=30)
