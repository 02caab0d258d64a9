"""What issue 7's features cost: exports, PDF reading, and the metrics middleware.

    .venv/bin/python bench/ops_bench.py --measures 100000

On deterministic synthetic reports (``api_bench.reports``, 100 measures each), stored once:

1. ``plan-archive export`` of every measure, CSV and JSON Lines: rows/s and file size;
2. ``GET /export.csv`` and ``GET /export.jsonl`` of every measure from ``plan-archive serve``,
   read as it streams: time to the first byte, rows/s, and the server's peak memory (RSS);
3. the portal's list query under 8 clients on 2 workers, response cache off, with
   ``PLAN_ARCHIVE_METRICS`` off and on (the request-id, log and metrics middleware);
4. ``plan-archive ingest`` of the three reports we have as text, each made into a PDF
   (``tests/pdfs.py``, table layout) and, for comparison, as the text files: files/s.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from api_bench import _serve, build, load  # noqa: E402

from tests import pdfs  # noqa: E402

TEXTS = [
    ROOT / "sample" / "hitachi-action-plan-fy2020.txt",
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2019.txt",
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2021.txt",
]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PLAN_ARCHIVE_DATA_DIR": str(data_dir), **extra}
    env.pop("PLAN_ARCHIVE_DATABASE_URL", None)
    return env


def cli_export(data_dir: Path, count: int, folder: Path) -> None:
    for kind in ("csv", "jsonl"):
        out = folder / f"all.{kind}"
        started = time.perf_counter()
        command = ["export", "--format", kind, "--output", str(out)]
        subprocess.run(
            [sys.executable, "-m", "server.cli", *command],
            env=_env(data_dir),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        size = out.stat().st_size
        print(
            f"CLI export {kind:5s}  {count / seconds:9,.0f} rows/s  ({seconds:.1f} s, "
            f"{size / 1e6:.0f} MB)"
        )


def _rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers), in kB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def http_export(data_dir: Path, count: int) -> None:
    os.environ["PLAN_ARCHIVE_MAX_EXPORT_ROWS"] = str(count)  # _serve passes os.environ on
    server, port = _serve(data_dir, 1, cache=False)
    try:
        for kind in ("csv", "jsonl"):
            before = _rss_kb(server.pid)
            peak = before
            started = time.perf_counter()
            first = None
            url = f"http://127.0.0.1:{port}/export.{kind}"
            with urllib.request.urlopen(url, timeout=600) as answer:
                size = 0
                while chunk := answer.read(1 << 16):
                    first = first or time.perf_counter() - started
                    size += len(chunk)
                    peak = max(peak, _rss_kb(server.pid))
            seconds = time.perf_counter() - started
            print(
                f"HTTP /export.{kind:5s} {count / seconds:9,.0f} rows/s  ({seconds:.1f} s, "
                f"{size / 1e6:.0f} MB; first byte {1000 * (first or 0):.0f} ms; server RSS "
                f"{before / 1024:.0f} → peak {peak / 1024:.0f} MB)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        del os.environ["PLAN_ARCHIVE_MAX_EXPORT_ROWS"]


def metrics_cost(data_dir: Path, seconds: float) -> None:
    for metrics in ("off", "on"):
        os.environ["PLAN_ARCHIVE_METRICS"] = metrics
        server, port = _serve(data_dir, 2, cache=False)
        try:
            print(f"-- GraphQL list, 8 clients, 2 workers, cache off, metrics {metrics}")
            asyncio.run(load(port, "list", 8, 3))  # warm-up, the first line
            asyncio.run(load(port, "list", 8, seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    del os.environ["PLAN_ARCHIVE_METRICS"]


def pdf_ingest(folder: Path) -> None:
    for kind in ("txt", "pdf"):
        files = folder / f"in-{kind}"
        files.mkdir()
        for path in TEXTS:
            text = path.read_text(encoding="utf-8")
            data = pdfs.table(text) if kind == "pdf" else text.encode()
            (files / f"{path.stem}.{kind}").write_bytes(data)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "server.cli", "ingest", str(files)],
            env=_env(folder / f"data-{kind}"),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        print(
            f"ingest of {len(TEXTS)} {kind} reports: {seconds:.2f} s (one CLI run, store and index)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        data_dir = folder / "data"
        print(f"== {arguments.measures:,} measures ==")
        build(data_dir, arguments.measures)
        cli_export(data_dir, arguments.measures, folder)
        http_export(data_dir, arguments.measures)
        metrics_cost(data_dir, arguments.seconds)
        pdf_ingest(folder)


if __name__ == "__main__":
    main()
