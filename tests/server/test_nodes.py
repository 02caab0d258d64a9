"""Several nodes on one PostgreSQL store, each with its own data folder and Whoosh index
(#19 point 4): separate processes and ports, as a deployment runs them.

Node A is only a command line (it ingests, and its own index follows); B and C serve.
Each index follows the store's index log from its own position: a change stored through
any node reaches every node's searches, a killed node catches up when restarted, a node
that was down longer than the log's retention rebuilds from the store, and a reindex on one
node leaves the others alone. ``plan-archive check`` on each node agrees with the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from archive import db
from tests.conftest import PG_SKIP_REASON, PG_URL, REPORTS, free_port, post_graphql

pytestmark = pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)

COUNT = "query($q: String!) { search(query: $q) { totalCount } }"
POLL = "0.2"  # seconds between a serving node's looks at the log
CONVERGE_WITHIN = 30.0  # seconds: far above the ~1 s a quiet machine takes


class Cluster:
    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url

    def env(self, node: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PLAN_ARCHIVE_DATABASE_URL": self.url,
            "PLAN_ARCHIVE_DATA_DIR": str(self.root / node),
            "PLAN_ARCHIVE_INDEX_POLL": POLL,
            "PLAN_ARCHIVE_LOG_FORMAT": "text",
            **extra,
        }

    def cli(self, node: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=self.root,
            env=self.env(node, **extra),
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self, node: str, **extra: str) -> Node:
        port = free_port()
        log = (self.root / f"{node}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=self.root,
            env=self.env(node, **extra),
            stdout=log,
            stderr=log,
        )
        log.close()
        started = Node(node, process, port, self.root / node)
        started.wait_until_up()
        return started


class Node:
    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, folder: Path):
        self.name, self.process, self.port, self.folder = name, process, port, folder

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5):
                    return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def count(self, query: str) -> int | None:
        body = post_graphql(self.port, COUNT, q=query)
        if body.get("errors"):
            return None  # the index is not built yet
        total: int = body["data"]["search"]["totalCount"]
        return total

    def generation(self) -> str:
        return (self.folder / "index" / "CURRENT").read_text().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    schema = f"nodes_{uuid.uuid4().hex[:12]}"
    admin = db.create_store_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    started = Cluster(tmp_path, f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    try:
        yield started
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _converged(nodes: list[Node], query: str, expected: int) -> float:
    """Seconds until every node's search for ``query`` counts ``expected``."""
    started = time.monotonic()
    while True:
        counts = [node.count(query) for node in nodes]
        if all(count == expected for count in counts):
            return time.monotonic() - started
        assert time.monotonic() - started < CONVERGE_WITHIN, (query, expected, counts)
        time.sleep(0.05)


def _a_count(cluster: Cluster, query: str) -> int:
    """What node A's own index (brought up by its command line) counts for ``query``."""
    found = cluster.cli("a", "search", query, "--limit", "1")
    assert found.returncode == 0, found.stderr
    first = found.stdout.splitlines()[0]  # "12 hits for 市民", or "no hits for …"
    return 0 if first.startswith("no ") else int(first.split()[0])


def _consistent(cluster: Cluster, *nodes: str) -> None:
    for node in nodes:
        checked = cluster.cli(node, "check")
        assert checked.returncode == 0, (node, checked.stdout, checked.stderr)


def test_every_node_follows_ingests_reindexes_and_outages(cluster: Cluster) -> None:
    b, c = cluster.start("b"), cluster.start("c")
    # Two writers at once, on two nodes: the store takes one after the other, and every
    # node's index ends with both.
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "server.cli", "ingest", str(report)],
            cwd=cluster.root,
            env=cluster.env(node),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for node, report in (("a", REPORTS[0]), ("b", REPORTS[1]))
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
    expected = _a_count(cluster, "市民")
    assert expected > 0
    _converged([b, c], "市民", expected)
    for node in (b, c):
        status, ready = node.readyz()
        assert status == 200, ready
        assert (ready["index_behind"], ready["index_lag_seconds"]) == (0, 0), ready

    # A reindex on B: a new generation there, none on C, and both still follow the log.
    before = c.generation()
    rebuilt = cluster.cli("b", "reindex")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert c.generation() == before
    deleted = cluster.cli("a", "delete", "--municipality", "日立市", "--fiscal-year", "2019")
    assert deleted.returncode == 0, deleted.stderr
    _converged([b, c], "市民", _a_count(cluster, "市民"))

    # C is down while two reports are stored, the first of them trimmed from the log by
    # then (A keeps entries 1 s): restarted, C rebuilds from the store, and follows.
    c.stop()
    assert cluster.cli("a", "ingest", str(REPORTS[2])).returncode == 0
    time.sleep(1.5)
    trimmed = cluster.cli("a", "ingest", str(REPORTS[0]), PLAN_ARCHIVE_INDEX_LOG_RETENTION="1")
    assert trimmed.returncode == 0, trimmed.stderr
    c = cluster.start("c")
    _converged([b, c], "市民", _a_count(cluster, "市民"))
    assert c.generation() != before  # rebuilt: its position was below what was trimmed
    b.stop()
    c.stop()
    _consistent(cluster, "a", "b", "c")


def test_a_node_killed_while_applying_catches_up_when_restarted(cluster: Cluster) -> None:
    b = cluster.start("b")
    assert cluster.cli("a", "ingest", str(REPORTS[0])).returncode == 0
    _converged([b], "市民", _a_count(cluster, "市民"))
    b.stop()
    # B dies as it is about to commit what the log brought; restarted, it applies it again.
    b = cluster.start("b", PLAN_ARCHIVE_KILL_AT="index-commit")
    assert cluster.cli("a", "ingest", str(REPORTS[1])).returncode == 0
    assert b.process.wait(timeout=CONVERGE_WITHIN) != 0
    b = cluster.start("b")
    _converged([b], "市民", _a_count(cluster, "市民"))
    b.stop()
    _consistent(cluster, "a", "b")
