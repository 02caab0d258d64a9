"""Bulk ingest through the real console script: many reports, index commits per batch, an
interrupted run (kill -9) that a rerun finishes without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import variants
from tests.conftest import SAMPLE, process_env

REPORTS = 40


def _folder(tmp_path: Path) -> Path:
    return variants.other_cities(
        tmp_path / "reports", SAMPLE.read_text(encoding="utf-8"), range(REPORTS)
    )


def _cli(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = process_env(tmp_path / "data")
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    process = _cli(tmp_path, *args)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _measure_count(tmp_path: Path) -> int:
    code, out, _ = _run(tmp_path, "search", "fiscalYear:2020", "--limit", "1")
    assert code == 0, out
    return int(out.split()[0])


def test_a_folder_goes_in_batch_by_batch(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    code, out, err = _run(tmp_path, "ingest", str(folder), "--batch", "15")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == REPORTS
    assert all(": stored (" in line for line in lines)
    assert "\r" not in err  # no progress line when stderr is not a terminal
    assert _run(tmp_path, "check")[0] == 0
    assert _measure_count(tmp_path) == 12 * REPORTS


def test_an_interrupted_bulk_ingest_is_finished_by_a_rerun(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    process = _cli(tmp_path, "ingest", str(folder), "--batch", "5")
    assert process.stdout is not None
    acknowledged = []
    for line in process.stdout:  # wait for some files to be committed, then kill -9
        acknowledged.append(line.split(":")[0])
        if len(acknowledged) == 10:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)  # reap it and close its pipes
    # Acknowledged files are in the store (whole batches); the index may lag behind, which
    # check reports without a traceback.
    code, out, err = _run(tmp_path, "check")
    assert "Traceback" not in out + err
    code, out, err = _run(tmp_path, "ingest", str(folder))
    assert code == 0, err
    outcomes = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in out.splitlines()}
    for path in acknowledged:
        assert outcomes[path].startswith("unchanged"), outcomes[path]
    assert _run(tmp_path, "check")[0] == 0
    assert _measure_count(tmp_path) == 12 * REPORTS  # nothing lost, nothing twice


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: a progress line, rewritten in place."""
    import pty

    folder = _folder(tmp_path)
    leader, follower = pty.openpty()
    env = process_env(tmp_path / "data")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "ingest", str(folder)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    assert f"{REPORTS} files, {12 * REPORTS:,} measures".encode() in seen
    assert b"measures/s" in seen


def test_a_file_the_store_refuses_costs_only_itself_in_its_batch(
    tmp_path: Path, sample_cli_data: Path
) -> None:
    """With the sample stored, one batch: a report, a summary of the sample's city and year
    without measures (the store refuses it: it would replace a structured report), and one
    more report. The summary is rolled back alone, and the lines come in input order."""
    folder = tmp_path / "reports"
    folder.mkdir()
    fixtures = SAMPLE.parent.parent / "tests" / "fixtures"
    (folder / "a.txt").write_bytes((fixtures / "hitachi-action-plan-fy2019.txt").read_bytes())
    summary = " 日立市情報化推進アクションプラン 概要版 \n令和２年度の取組をまとめた。\n"
    (folder / "b.txt").write_bytes(summary.encode())
    (folder / "c.txt").write_bytes((fixtures / "hitachi-action-plan-fy2021.txt").read_bytes())
    code, out, err = _run(tmp_path, "ingest", str(folder), "--batch", "10")
    assert code == 1, err
    lines = out.splitlines()
    names = [line.split(": ", 1)[0].rsplit("/", 1)[1] for line in lines]
    assert names == ["a.txt", "b.txt", "c.txt"]
    assert "refused" in lines[1]
    assert "has none" in lines[1]
    assert ": stored (" in lines[0]
    assert ": stored (" in lines[2]
    assert _run(tmp_path, "check")[0] == 0
    assert _measure_count(tmp_path) == 12  # fiscalYear:2020 still holds the sample's measures
