"""``plan-archive ingest`` yields the CPU (``--nice``), run as its own process as users run it:
its niceness is read from /proc while it works."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import cli
from tests.conftest import SAMPLE, process_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _niceness_while_ingesting(data_dir: Path, *options: str, default: bool = False) -> int:
    """The highest niceness an ingest of the sample shows while it runs."""
    data_dir.parent.mkdir(parents=True)
    env = process_env(data_dir)
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
    room = 19 - os.nice(0)  # niceness stops at 19, whatever this process's is
    assert _niceness_while_ingesting(tmp_path / "a" / "data", default=True) == min(10, room)
    assert _niceness_while_ingesting(tmp_path / "b" / "data", "--nice", "0") == 0
    assert _niceness_while_ingesting(tmp_path / "c" / "data", "--nice", "3") == min(3, room)


@pytest.mark.parametrize("value", ["20", "-1", "2.5", "high"])
def test_a_niceness_no_process_can_take_is_refused_in_one_line(
    tmp_path: Path, cli_env: dict[str, str], value: str
) -> None:
    env = {**cli_env, "PLAN_ARCHIVE_INGEST_NICE": value}
    done = CliRunner().invoke(cli, ["ingest", str(SAMPLE)], env=env)
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("error: PLAN_ARCHIVE_INGEST_NICE must be")
    assert not (tmp_path / "data").exists()  # nothing was made
