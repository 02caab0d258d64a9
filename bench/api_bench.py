"""API benchmark: requests/s and latency of the portal's list query and of search, over HTTP.

    .venv/bin/python bench/api_bench.py --measures 10000 --clients 8 --seconds 20

Builds a deterministic archive of synthetic reports (100 measures each, made from the sample's
sentences) through the real ingest path, starts ``plan-archive serve --workers 2`` on
loopback, and runs ``--clients`` concurrent clients against it for ``--seconds`` per query
kind, first with the response cache off and then on. Prints the ingest rate, then
requests/s, p50 and p95 for each kind. This is a
benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from archive import eras
from archive.db import reader, writer
from archive.ingest import prepare_document, store_document
from index.writing import apply_pending
from server.resources import open_store
from server.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_bench import CITIES, QUERIES, synthetic_rows

LIST_QUERY = """query($year: Int!) { measures(first: 20, filter: {fiscalYears: [$year]}) {
  totalCount edges { cursor node { id number title departments { name } } }
  pageInfo { hasNextPage endCursor } } }"""
SEARCH_QUERY = """query($q: String!) { search(query: $q, first: 20) { totalCount
  edges { score node { id number title } highlights { field fragments } }
  facets { fiscalYears { value count } departments { value count } } } }"""


def reports(count: int) -> list[tuple[str, bytes]]:
    """Synthetic reports in the sample's layout, 100 measures each."""
    rows = synthetic_rows(count)
    files = []
    for start in range(0, count, 100):
        chunk = rows[start : start + 100]
        city = CITIES[(start // 100) % len(CITIES)]
        year = 2000 + (start // 100) // len(CITIES)
        label = eras.western_to_era_label(year)
        lines = [f"{city}情報化推進アクションプラン {label}実績 ", " １ 体系の柱 "]
        for number, row in enumerate(chunk, start=1):
            fields = row.fields
            lines += [
                f"No {number:02d} 推進事項 {fields['title']} ",
                f"担当部課所 {fields['departments']} ",
                "事業内容 ",
                f"{fields['description']} ",
                "達成状況 ",
                f"{fields['achievement']}。 [継続] ",
            ]
        files.append((f"{city}-{year}.txt", "\n".join(lines).encode("utf-8")))
    return files


def build(data_dir: Path, count: int, database_url: str = "") -> None:
    """Store ``count`` measures of synthetic reports and index them; on SQLite in ``data_dir``,
    or on the store at ``database_url`` (an empty one)."""
    env = {"PLAN_ARCHIVE_DATA_DIR": str(data_dir), "PLAN_ARCHIVE_DATABASE_URL": database_url}
    settings = Settings.from_env(env, env_file=None)
    engine = open_store(settings)
    started = time.perf_counter()
    stored = 0
    for name, data in reports(count):
        prepared = prepare_document(data, name)
        with writer(engine)() as db, db.begin():
            stored += store_document(db, prepared).measure_count
    store_seconds = time.perf_counter() - started
    apply_pending(reader(engine), settings.index_dir)
    total = time.perf_counter() - started
    engine.dispose()
    print(
        f"ingest          {stored / store_seconds:,.0f} measures/s into the store; "
        f"{stored / total:,.0f} measures/s with the index ({total:.0f} s for {stored:,})"
    )


class KeptAlive:
    """One client's kept-alive HTTP/1.1 connection for ``POST /graphql``: opened when first
    needed, and again after the server closed it (``Connection: close``, or a broken
    connection), as any HTTP client does; a request's time then counts the new connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, payload: bytes) -> tuple[int, bytes]:
        """(status, body) of one request."""
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        try:
            writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            lines = head.lower().split(b"\r\n")
            length = next(
                int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if any(line.startswith(b"connection:") and b"close" in line for line in lines):
            self.close()
        return status, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def load(port: int, kind: str, clients: int, seconds: float) -> None:
    """``clients`` concurrent clients, each on its own kept-alive connection, sending requests
    back to back. The client is a few lines of asyncio rather than an HTTP library, so that
    on a small machine the load generator takes little of the CPU the server needs."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    years = list(range(2000, 2005))

    async def client(number: int) -> None:
        nonlocal errors
        connection = KeptAlive(port)
        i = number
        while time.monotonic() < deadline:
            if kind == "list":
                body = {"query": LIST_QUERY, "variables": {"year": years[i % len(years)]}}
            else:
                body = {"query": SEARCH_QUERY, "variables": {"q": QUERIES[i % len(QUERIES)]}}
            payload = json.dumps(body).encode()
            started = time.perf_counter()
            status, answer = await connection.post(payload)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"errors"' in answer:
                errors += 1
            i += clients
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{kind:6s} {len(latencies) / elapsed:7.1f} req/s   p50 {p50:6.1f} ms   "
        f"p95 {p95:6.1f} ms   ({len(latencies)} requests, {errors} errors, {clients} clients)"
    )


def _serve(
    data_dir: Path, workers: int, cache: bool, database_url: str = ""
) -> tuple[subprocess.Popen[bytes], int]:
    """``plan-archive serve`` on loopback over ``data_dir`` (and ``database_url``, else the
    folder's SQLite file), once it answers /readyz: the process and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # An empty URL is SQLite in the data folder, whatever the shell or a .env says.
    env = {
        **os.environ,
        "PLAN_ARCHIVE_DATA_DIR": str(data_dir),
        "PLAN_ARCHIVE_DATABASE_URL": database_url,
    }
    env["PLAN_ARCHIVE_RESPONSE_CACHE_MB"] = "64" if cache else "0"
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.2)
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--data-dir", type=Path, help="build the archive here once, and reuse it on later runs"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = arguments.data_dir or Path(folder)
        if not (data_dir / "archive.sqlite3").exists():
            build(data_dir, arguments.measures)
        for cache in (False, True):
            server, port = _serve(data_dir, arguments.workers, cache)
            try:
                for kind in ("list", "search"):  # warm each worker's snapshot first
                    asyncio.run(load(port, kind, arguments.clients, 3))
                state = "on" if cache else "off"
                print(
                    f"-- {arguments.measures:,} measures, {arguments.workers} workers, "
                    f"response cache {state} --"
                )
                for kind in ("list", "search"):
                    asyncio.run(load(port, kind, arguments.clients, arguments.seconds))
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
