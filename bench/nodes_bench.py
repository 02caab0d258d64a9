"""Several nodes on one PostgreSQL store (#19 point 5): how far behind their indexes are
during a bulk ingest, and search throughput of three nodes against one.

    .venv/bin/python bench/nodes_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

In a fresh schema of that database:

1. three nodes serve (``plan-archive serve``, one worker each, their own data folders and
   ports), following the store's index log every ``--poll`` seconds;
2. ``plan-archive ingest --store-only`` stores ``--measures`` synthetic measures (reports of
   100, as ``api_bench.py`` makes them) from a fourth data folder, in batches of 10 reports;
3. meanwhile each node's ``/readyz`` is read every 100 ms: ``index_lag_seconds`` is the age
   of the oldest change its index has not applied (0 when in step). Printed: its p50, p95
   and maximum over the ingest, and how long after the ingest every node was in step;
4. at rest, one report stored at a time (five times): the largest lag any node showed;
5. ``--clients`` clients search back to back for ``--seconds``, first all on one node, then
   spread over the three: requests per second and p95 of each, and their ratio.

All nodes share this machine's cores, so step 5 says how much of one node's throughput is
CPU-bound (three processes on 2 cores cannot triple it), not how a cluster scales.
This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import QUERIES, SEARCH_QUERY, KeptAlive, reports
from sqlalchemy import text

from archive import db


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Nodes:
    def __init__(self, root: Path, url: str, poll: float) -> None:
        self.root, self.url, self.poll = root, url, poll
        self.servers: list[tuple[subprocess.Popen[bytes], int]] = []

    def env(self, node: str) -> dict[str, str]:
        return {
            **os.environ,
            "PLAN_ARCHIVE_DATABASE_URL": self.url,
            "PLAN_ARCHIVE_DATA_DIR": str(self.root / node),
            "PLAN_ARCHIVE_INDEX_POLL": str(self.poll),
            "PLAN_ARCHIVE_RESPONSE_CACHE_MB": "0",
            "PLAN_ARCHIVE_METRICS": "off",
        }

    def serve(self, node: str) -> int:
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            env=self.env(node),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.servers.append((server, port))
        while readyz(port) is None:
            time.sleep(0.2)
        return port

    def stop(self) -> None:
        for server, _ in self.servers:
            server.terminate()
            server.wait(timeout=30)


def readyz(port: int) -> dict[str, float] | None:
    """The node's readiness answer, None until it is ready."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            body: dict[str, float] = json.loads(answer.read())
            return body
    except (OSError, urllib.error.HTTPError):
        return None


def in_step(port: int) -> bool:
    answer = readyz(port)
    return answer is not None and answer["index_behind"] == 0


def sample_lag(ports: list[int], stop: threading.Event, into: dict[int, list[float]]) -> None:
    while not stop.is_set():
        for port in ports:
            answer = readyz(port)
            if answer is not None:
                into[port].append(float(answer["index_lag_seconds"]))
        time.sleep(0.1)


async def search_load(ports: list[int], clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second and p95 (ms) of ``clients`` searching back to back, spread over
    ``ports`` one connection each."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client(number: int) -> None:
        connection = KeptAlive(ports[number % len(ports)])
        i = number
        while time.monotonic() < deadline:
            body = {"query": SEARCH_QUERY, "variables": {"q": QUERIES[i % len(QUERIES)]}}
            started = time.perf_counter()
            status, answer = await connection.post(json.dumps(body).encode())
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"errors"' in answer:
                raise RuntimeError(answer[:200].decode(errors="replace"))
            i += clients
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return len(latencies) / elapsed, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("PLAN_ARCHIVE_TEST_DATABASE_URL", "")
    )
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--poll", type=float, default=1.0, help="PLAN_ARCHIVE_INDEX_POLL")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL URL")
    schema = f"nodes_bench_{uuid.uuid4().hex[:8]}"
    admin = db.create_store_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
    nodes = Nodes(Path(tempfile.mkdtemp(prefix="nodes-bench-")), url, args.poll)
    try:
        folder = nodes.root / "reports"
        folder.mkdir()
        for name, data in reports(args.measures):
            (folder / name).write_bytes(data)
        ports = [nodes.serve(name) for name in ("b", "c", "d")]
        print(f"== {args.measures:,} measures, 3 nodes, poll {args.poll:g} s ==")

        lags: dict[int, list[float]] = {port: [] for port in ports}
        stop = threading.Event()
        sampler = threading.Thread(target=sample_lag, args=(ports, stop, lags))
        sampler.start()
        started = time.perf_counter()
        command = ["ingest", "--store-only", "--batch", "10", str(folder)]
        ingest = subprocess.run(
            [sys.executable, "-m", "server.cli", *command],
            env=nodes.env("a"),
            capture_output=True,
            text=True,
            check=False,
        )
        ingested = time.perf_counter() - started
        if ingest.returncode != 0:
            raise SystemExit(ingest.stderr[-2000:])
        while not all(in_step(port) for port in ports):
            time.sleep(0.05)
        settled = time.perf_counter() - started - ingested
        stop.set()
        sampler.join()
        every = [value for values in lags.values() for value in values]
        print(
            f"ingest (store only)  {args.measures / ingested:7,.0f} measures/s  ({ingested:.1f} s)"
        )
        print(
            f"lag during ingest    p50 {statistics.median(every):5.2f} s   "
            f"p95 {percentile(every, 0.95):5.2f} s   max {max(every):5.2f} s   "
            f"({len(every)} samples of 3 nodes)"
        )
        print(f"in step after        {settled:5.2f} s  (every node, from the ingest's end)")

        # At rest: one report stored at a time; the largest lag any node showed before it
        # held it (the age of the change when last seen unapplied, sampled every 20 ms).
        single = nodes.root / "single"
        single.mkdir()
        at_rest = []
        for number, (name, data) in enumerate(reports(500)[:5]):
            path = single / f"rest-{number}-{name}"
            path.write_bytes(data.replace("情報化推進".encode(), f"試行{number}".encode()))
            subprocess.run(
                [sys.executable, "-m", "server.cli", "ingest", "--store-only", str(path)],
                env=nodes.env("a"),
                capture_output=True,
                check=True,
            )
            seen = 0.0
            while True:
                answers = [readyz(port) or {} for port in ports]
                seen = max([seen, *(float(a.get("index_lag_seconds", 0)) for a in answers)])
                if all(a.get("index_behind") == 0 for a in answers):
                    break
                time.sleep(0.02)
            at_rest.append(seen)
        print(
            f"lag at rest          p50 {statistics.median(at_rest):5.2f} s   "
            f"max {max(at_rest):5.2f} s  (one report of 100 measures at a time, 5 times)"
        )

        one, one_p95 = asyncio.run(search_load(ports[:1], args.clients, args.seconds))
        three, three_p95 = asyncio.run(search_load(ports, args.clients, args.seconds))
        print(f"search, 1 node       {one:7.1f} req/s   p95 {one_p95:6.1f} ms")
        print(
            f"search, 3 nodes      {three:7.1f} req/s   p95 {three_p95:6.1f} ms   "
            f"({three / one:.2f}x; {os.cpu_count()} cores shared by all)"
        )
    finally:
        nodes.stop()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
