"""``plan-archive ingest`` yields the CPU (``--nice``), run as its own process as users run it:
its niceness is read from /proc while it works."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, store_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _niceness_while_ingesting(data_dir: Path, *options: str, default: bool = False) -> int:
    """The highest niceness an ingest of the sample shows while it runs."""
    data_dir.parent.mkdir(parents=True)
    env = {**os.environ, "PLAN_ARCHIVE_DATABASE_URL": "", **store_env(data_dir)}
    if default:
        env.pop("PLAN_ARCHIVE_INGEST_NICE", None)  # the suite's own 0 (tests/conftest.py)
    command = [sys.executable, "-m", "server.cli", "ingest", *options, str(SAMPLE)]
    process = subprocess.Popen(command, cwd=data_dir.parent, env=env, stdout=subprocess.DEVNULL)
    base = os.nice(0)
    seen = base
    while process.poll() is None:
        try:
            stat = Path(f"/proc/{process.pid}/stat").read_text()
            seen = max(seen, int(stat.rsplit(")", 1)[1].split()[16]))
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.005)
    assert process.returncode == 0
    return seen - base


def test_an_ingest_yields_the_cpu_unless_told_not_to(tmp_path: Path) -> None:
    assert _niceness_while_ingesting(tmp_path / "a" / "data", default=True) == 10
    assert _niceness_while_ingesting(tmp_path / "b" / "data", "--nice", "0") == 0
    assert _niceness_while_ingesting(tmp_path / "c" / "data", "--nice", "3") == 3
