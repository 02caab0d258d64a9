#!/usr/bin/env python3
"""Set up and run plan-archive with nothing but Python 3.11+ installed.

    python3 dev.py serve [serve options]   # venv, install, ingest the sample, serve it
    python3 dev.py test [pytest options]   # venv, install with dev extras, lint, type-check, test
                                           # (twice, SQLite then PostgreSQL, when
                                           # PLAN_ARCHIVE_TEST_DATABASE_URL is set)

The virtual environment lives in .venv and is reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
SAMPLE = ROOT / "sample"


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (this script runs before anything is installed)
        print("plan-archive needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        setup("[pdf]")
        ingest = run([str(BIN / "plan-archive"), "ingest", str(SAMPLE)])
        if ingest != 0:
            return ingest
        serve = [str(BIN / "plan-archive"), "serve", *rest]
        if os.name == "posix":
            os.chdir(ROOT)
            os.execv(serve[0], serve)  # become the server: signals reach it, no orphan is left
        return run(serve)
    setup("[dev,postgres,pdf]")
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "lint-imports")],
        [str(BIN / "mypy")],
    ]
    for check in checks:
        if run(check) != 0:
            return 1
    # One worker per core (pytest-xdist), each test file on one worker so that its
    # module-wide archives and servers are made once; options after `test` come later and win.
    pytest = [str(PYTHON), "-m", "pytest", "-n", "auto", "--dist", "loadfile", *rest]
    status = run(pytest)
    if status != 0 or not os.environ.get("PLAN_ARCHIVE_TEST_DATABASE_URL"):
        return status
    # With a PostgreSQL server configured, the whole suite runs a second time with every
    # archive's store on it, so both stores are held to the same results.
    print("plan-archive: the suite again, every store on PostgreSQL", file=sys.stderr)
    env = {**os.environ, "PLAN_ARCHIVE_TEST_STORE": "postgresql"}
    return subprocess.call(pytest, cwd=ROOT, env=env)


def setup(extras: str) -> None:
    """Create .venv and install the project (editable) unless it is already up to date."""
    if not PYTHON.exists():
        print("plan-archive: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed{extras.replace('[', '-').replace(']', '').replace(',', '-')}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"plan-archive: installing .{extras} into .venv", file=sys.stderr)
    quiet = ["-q", "--disable-pip-version-check"]
    if run([str(PYTHON), "-m", "pip", "install", *quiet, "-e", f".{extras}"]) != 0:
        raise SystemExit("plan-archive: installation failed (see pip's output above)")
    stamp.write_text(digest)


def run(command: list[str]) -> int:
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
