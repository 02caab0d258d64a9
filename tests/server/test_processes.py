"""Several processes on one archive: two ingests at once, and two uvicorn workers serving
while another process ingests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import variants
from tests.conftest import SAMPLE, post_graphql, process_env, served
from tests.server.test_bulk import _run


def _reports(folder: Path, numbers: range) -> Path:
    return variants.other_cities(folder, SAMPLE.read_text(encoding="utf-8"), numbers)


def test_two_ingests_at_once_lose_and_double_nothing(tmp_path: Path) -> None:
    first = _reports(tmp_path / "a", range(0, 15))
    second = _reports(tmp_path / "b", range(15, 30))
    env = process_env(tmp_path / "data")
    command = [sys.executable, "-m", "server.cli", "ingest", "--batch", "4"]
    processes = [
        subprocess.Popen(
            [*command, str(folder)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.count(": stored (") == 15
    assert _run(tmp_path, "check")[0] == 0
    out = _run(tmp_path, "search", "fiscalYear:2020", "--limit", "1")[1]
    assert int(out.split()[0]) == 12 * 30


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_two_workers_share_the_store_and_the_index(tmp_path: Path, sample_cli_data: Path) -> None:
    with served(sample_cli_data, workers=2) as (server, port, _):
        workers = [p for p in _children(server.pid) if Path(f"/proc/{p}/cmdline").exists()]
        assert len(workers) >= 2, workers  # uvicorn's workers (and its process watcher)
        query = '{ measures { totalCount } search(query: "人事評価") { totalCount } }'
        before = post_graphql(port, query)["data"]
        fixtures = SAMPLE.parent.parent / "tests" / "fixtures"
        assert _run(tmp_path, "ingest", str(fixtures / "hitachi-action-plan-fy2021.txt"))[0] == 0
        # Every answer after the ingest, from whichever worker, sees it: store and index.
        for _ in range(30):
            after = post_graphql(port, query)["data"]
            assert after["measures"]["totalCount"] == before["measures"]["totalCount"] + 12
            assert after["search"]["totalCount"] > before["search"]["totalCount"]
