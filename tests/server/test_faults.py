"""Crashes and a full disk during an ingest, through the real console script (the checks
after it run in this process, as a restarted one would).

``PLAN_ARCHIVE_KILL_AT`` (``archive/faults.py``) makes the process kill itself with SIGKILL
at one step; whatever the step, ``plan-archive check`` finds the archive consistent or
``check --repair`` makes it so, and the report is there exactly when its store transaction
committed.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archive.faults import POINTS
from server.cli import cli
from tests.conftest import SAMPLE, STORE, process_env, run_cli

FY2021 = SAMPLE.parent.parent / "tests" / "fixtures" / "hitachi-action-plan-fy2021.txt"
COMMITTED = {"decode": False, "store-commit": False, "stored": True, "index-commit": True,
             "index-toc": True, "indexed": True}  # fmt: skip


def _run(env: dict[str, str], *args: str) -> Result:
    """``plan-archive ARGS`` in this process, as after a restart: a fresh store handle."""
    return CliRunner().invoke(cli, list(args), env=env)


def _years(env: dict[str, str]) -> str:
    done = _run(env, "search", "人事評価", "--limit", "1")
    return done.stdout.split("fiscal years", 1)[-1].splitlines()[0] if done.stdout else ""


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_at_each_step_leaves_a_repairable_archive(
    tmp_path: Path, sample_cli_data: Path, cli_env: dict[str, str], point: str
) -> None:
    """The crash and the first check (through the console script, which prints no
    traceback) in processes of their own; the rest in this one."""
    killed = run_cli(tmp_path, "ingest", str(FY2021), PLAN_ARCHIVE_KILL_AT=point)
    assert killed.returncode == -signal.SIGKILL
    check = run_cli(tmp_path, "check")
    if check.returncode != 0:
        assert "Traceback" not in check.stdout + check.stderr
        assert _run(cli_env, "check", "--repair").exit_code == 0
        assert _run(cli_env, "check").exit_code == 0
    # After a restart the report is there exactly when its transaction committed, in the
    # store and (once checked) in the index.
    stored = _run(cli_env, "history", "01", "--fiscal-year", "2021")
    assert (stored.exit_code == 0) is COMMITTED[point], stored.stdout + stored.stderr
    assert ("2021" in _years(cli_env)) is COMMITTED[point]
    # Running the ingest again finishes the job either way.
    again = _run(cli_env, "ingest", str(FY2021))
    assert again.exit_code == 0, again.stdout + again.stderr
    assert _run(cli_env, "check").exit_code == 0
    assert "2021" in _years(cli_env)


def _file_size_limit(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, sample_cli_data: Path, cli_env: dict[str, str]
) -> None:
    """A file-size limit in the ingest's process, as a full disk. On SQLite the store itself
    cannot be written: the file is refused and nothing changes. On PostgreSQL (another
    machine's disk) the store takes it and the local index cannot: the line says so, check
    reports the lag, and check --repair catches up once there is room."""
    # Room for nothing new: the report's transaction (SQLite's write-ahead log) or its index
    # segment cannot be written.
    # SQLite needs room for its 32 KB shared-memory file to open at all; on PostgreSQL only
    # the index is local, and one report's segment is about 50 KB.
    limit = 65_536 if STORE == "sqlite" else 8_192
    env = process_env(sample_cli_data)
    full = subprocess.run(
        [sys.executable, "-m", "server.cli", "ingest", str(FY2021)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: _file_size_limit(limit),
    )
    lines = full.stdout.strip().splitlines()
    assert "Traceback" not in full.stderr
    if STORE == "sqlite":
        assert full.returncode == 1
        assert len(lines) == 1
        assert "refused" in lines[0]
        assert "disk could not be written" in lines[0]
        assert _run(cli_env, "check").exit_code == 0
        assert "2021" not in _years(cli_env)
        return
    assert full.returncode == 0
    assert ": stored (" in lines[0]
    assert any("search index not updated yet" in line for line in lines)
    assert _run(cli_env, "check").exit_code != 0
    assert _run(cli_env, "check", "--repair").exit_code == 0
    assert "2021" in _years(cli_env)
