"""Load benchmark: the portal's three queries under concurrent clients, during an ingest and not.

    .venv/bin/python bench/load_bench.py --measures 10000 --clients 20 --seconds 30 \\
        --ingest-reports 60 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] \\
        [--profile]

Builds a deterministic archive of synthetic reports through the real ingest path
(``api_bench.build``), starts ``plan-archive serve --workers 2`` on loopback with the response
cache off (``PLAN_ARCHIVE_RESPONSE_CACHE_MB=0``), and runs ``--clients`` concurrent clients,
each on its own kept-alive connection (opened over the first second), sending back to back,
in turn:

- list: a list page, ``measures(first: 20, filter: {fiscalYears})`` with departments;
- detail: a measure's page, ``node(id)`` with the fields the search page's measure view asks
  for (history, departments, document, indicators, pillar) and carryOverFlags and provenance;
- search: the search page's query, ``search(query, first: 20)`` with highlights and facets,
  over search_bench's 30 queries.

Phase 1 runs them while ``plan-archive ingest`` stores and indexes ``--ingest-reports`` new
reports (municipality-years the archive does not hold, so every one is stored and indexed),
in ``--ingest-runs`` CLI runs one after the other, at the CLI's own ``--nice`` unless
``--ingest-nice`` says otherwise; the load lasts ``--seconds``, or until the ingest is done
if that takes longer. Phase 2 runs the same load for ``--seconds`` without an
ingest, on the archive as phase 1 left it (so the larger one). Per query type it prints
requests, errors (a status other than 200, GraphQL errors, or a detail page whose node is
null; their causes below), p50, p95 and p99 latency as the client sees it, and requests/s;
then how many clients each worker got, and the ingest's duration.

Where the time goes: first, each request's own time, one client alone. Then per phase the
CPU seconds of the server's processes, of the ingest, of this load generator and of the
rest of the machine (from /proc: the machine may be shared), against what the cores could
give; and the server's own figures from /metrics, scraped before and after: the mean time a
request spends in the app, and for search how much of it is the index search itself. With
``--profile``, py-spy (``pip install py-spy``; on PATH or ``--py-spy``) samples the server's
processes and prints the share of their CPU samples per layer (Whoosh and our index,
SQLAlchemy, the driver, graphql-core, Strawberry, ...), each sample charged to its innermost
frame in a known layer.

On PostgreSQL the archive lives in a schema of its own, dropped at the end. This is a
benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from strawberry.relay import to_base64

from archive import db
from archive.db import reader
from archive.models import Measure
from server.resources import open_store
from server.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import LIST_QUERY, KeptAlive, _serve, build, reports
from search_bench import QUERIES, percentile

ROOT = Path(__file__).resolve().parent.parent

# The search page's own queries (server/static/app.js), the search at 20 hits a page.
SEARCH_QUERY = """query Search($query: String!, $first: Int) {
  search(query: $query, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { fiscalYears { value count } departments { value count } }
    edges {
      cursor
      node { id fiscalYear number title departments { name } }
      highlights { field fragments } } } }"""
DETAIL_QUERY = """query Measure($id: ID!) {
  node(id: $id) {
    ... on Measure {
      id fiscalYear number title description achievement municipality departmentsOthers
      carryOver { tag }
      carryOverFlags
      provenance { field firstLine lastLine firstPage lastPage }
      pillar { number title }
      departments { name }
      document { title }
      history { id fiscalYear number title }
      indicators { label value unit approximate comparison text } } } }"""
KINDS = ("list", "detail", "search")
OPERATIONS = {"list": "measures", "detail": "node", "search": "search"}  # /metrics labels
BASE_YEARS = range(2000, 2005)  # the fiscal years of 10,000 measures (api_bench.reports)


@dataclass
class Phase:
    """What one phase measured: per kind, (sent at, seconds after the phase began; ms)."""

    latencies: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    errors: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)  # "HTTP 503", "GraphQL errors", ...
    # The clients' connections per worker, at seconds into the phase: [(seconds, counts)].
    spread: list[tuple[float, list[int]]] = field(default_factory=list)
    seconds: float = 0.0
    ingest_seconds: float | None = None
    ingest_cpu: float = 0.0  # seconds, the ingest runs and their helper processes
    ingest_lines: list[str] = field(default_factory=list)


def payloads(ids: list[int], seed: int = 14) -> dict[str, list[bytes]]:
    """Request bodies, encoded once so the clients spend their CPU on little else."""
    rng = random.Random(seed)
    chosen = rng.sample(ids, min(len(ids), 2000))
    return {
        "list": [
            json.dumps({"query": LIST_QUERY, "variables": {"year": year}}).encode()
            for year in BASE_YEARS
        ],
        "detail": [
            json.dumps(
                {"query": DETAIL_QUERY, "variables": {"id": to_base64("Measure", i)}}
            ).encode()
            for i in chosen
        ],
        "search": [
            json.dumps({"query": SEARCH_QUERY, "variables": {"query": q, "first": 20}}).encode()
            for q in QUERIES
        ],
    }


async def client(
    port: int,
    number: int,
    delay: float,
    bodies: dict[str, list[bytes]],
    stop: asyncio.Event,
    phase: Phase,
    began: float,
    think: float = 0.0,
) -> None:
    """One client on one kept-alive connection: list, detail, search, list, ... back to back,
    or with ``think`` seconds between an answer and the next request (a reader of the page;
    0 makes the server's capacity the only limit, so latency is mostly queueing).
    Each client starts at another kind, so the mix is even at every moment, and at another
    year, measure and search.

    The clients connect over the phase's first second, as users arrive, rather than all at
    once: a worker accepts every connection waiting when it wakes, so a burst would go to
    whichever worker woke first and stay there (each kept-alive connection keeps its worker,
    until its worker closes it to even the spread out: then the client connects again, as
    any HTTP client does after ``Connection: close``, and the next request's time counts the
    new connection).
    """
    await asyncio.sleep(delay)
    connection = KeptAlive(port)
    sent_of: Counter[str] = Counter()
    step = number
    while not stop.is_set():
        kind = KINDS[step % len(KINDS)]
        step += 1
        options = bodies[kind]
        payload = options[(number * 7919 + sent_of[kind]) % len(options)]
        sent_of[kind] += 1
        sent = time.perf_counter()
        try:
            status, answer = await connection.post(payload)
        except (OSError, asyncio.IncompleteReadError, ValueError, RuntimeError):
            status, answer = 0, b""  # the connection broke: an error, and a new connection
        done = time.perf_counter()
        phase.latencies[kind].append((sent - began, (done - sent) * 1000))
        cause = _error(status, answer)
        if cause is not None:
            phase.errors[kind] += 1
            phase.causes[cause] += 1
        if status == 0:
            await asyncio.sleep(0.1)  # a server that is down is not asked again at once
        if think:
            await asyncio.sleep(think)
    connection.close()


def _error(status: int, answer: bytes) -> str | None:
    """What went wrong with an answer, if anything."""
    if status == 0:
        return "connection lost"
    if status != 200:
        return f"HTTP {status}"
    if b'"errors"' in answer:
        return "GraphQL errors"
    if b'"node":null' in answer:
        return "no such node"  # would be a bug of this benchmark: its ids are the store's
    return None


async def ingest(
    folders: list[Path], env: dict[str, str], phase: Phase, began: float, options: list[str]
) -> None:
    """``plan-archive ingest`` of each folder (with ``options``), one run after the other."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # an ended run's, helpers included
    for folder in folders:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "ingest",
            *options,
            str(folder),
            env=env,
            cwd=folder.parent,  # no developer's .env
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        lines = output.decode("utf-8", "replace").splitlines()
        stored = sum(": stored (" in line for line in lines)
        phase.ingest_lines.append(
            f"{folder.name}: exit {process.returncode}, {stored} of {len(list(folder.iterdir()))} "
            "reports stored"
            + "".join(f"\n    {line}" for line in lines if ": stored (" not in line)
        )
    phase.ingest_seconds = time.perf_counter() - began
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    phase.ingest_cpu = done.ru_utime + done.ru_stime - used.ru_utime - used.ru_stime


async def run_phase(
    server_pid: int,
    port: int,
    clients: int,
    seconds: float,
    bodies: dict[str, list[bytes]],
    ingest_folders: list[Path] | None = None,
    env: dict[str, str] | None = None,
    think: float = 0.0,
    ingest_options: list[str] | None = None,
) -> Phase:
    phase = Phase()
    stop = asyncio.Event()
    began = time.perf_counter()
    tasks = [
        asyncio.create_task(client(port, n, n / clients, bodies, stop, phase, began, think))
        for n in range(clients)
    ]
    waits = [asyncio.sleep(seconds), spread(server_pid, port, phase, (2,))]
    if ingest_folders:
        assert env is not None
        waits.append(ingest(ingest_folders, env, phase, began, ingest_options or []))
    await asyncio.gather(*waits)
    # And at the end (the phase lasts until the ingest is done, when that takes longer).
    phase.spread.append((time.perf_counter() - began, _connections_per_worker(server_pid, port)))
    stop.set()
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - began
    return phase


# Where the time goes ------------------------------------------------------------------


def _ticks(pid: int) -> int:
    """CPU clock ticks (user + system) a live process has used, 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process this one can see."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            yield int(entry.name), int(rest.split()[1]), name


async def spread(server_pid: int, port: int, phase: Phase, moments: tuple[float, ...]) -> None:
    """How many connections each server worker holds, from /proc, at each of ``moments``
    (seconds into the phase): once every client is connected; ``run_phase`` adds the end's
    (the workers even the spread out, server/balance.py)."""
    waited = 0.0
    for moment in moments:
        await asyncio.sleep(moment - waited)
        waited = moment
        phase.spread.append((moment, _connections_per_worker(server_pid, port)))


def _connections_per_worker(server_pid: int, port: int) -> list[int]:
    listening: set[str] = set()
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                (listening if fields[3] == "0A" else established).add(f"socket:[{fields[9]}]")
    sockets: dict[int, list[str]] = {}
    family = {server_pid}
    for _ in range(2):
        family |= {pid for pid, parent, _ in _processes() if parent in family}
    for pid in family:
        try:
            sockets[pid] = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
    workers = [pid for pid, links in sockets.items() if listening & set(links)]
    if len(workers) > 1:
        workers.remove(server_pid)  # the supervisor listens, its workers accept
    return sorted(
        (sum(link in established for link in sockets[pid]) for pid in workers), reverse=True
    )


@dataclass
class CpuSnapshot:
    server: float  # seconds, the server and its workers
    own: float  # seconds, this process (the clients)
    postgres: float  # seconds, PostgreSQL's processes when they run on this machine
    busy: float  # seconds, every core of the machine
    at: float


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    tick = os.sysconf("SC_CLK_TCK")
    family = {server_pid}
    seen = list(_processes())
    for _ in range(3):  # the server, its workers, their helpers
        family |= {pid for pid, parent, _ in seen if parent in family}
    postgres = sum(_ticks(pid) for pid, _, name in seen if name.startswith("postgres"))
    times = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(times[:8]) - times[3] - times[4]  # all but idle and iowait (guest is in user)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot(
        server=sum(_ticks(pid) for pid in family) / tick,
        own=own.ru_utime + own.ru_stime,
        postgres=postgres / tick,
        busy=busy / tick,
        at=time.perf_counter(),
    )


def scrape(port: int) -> dict[tuple[str, str], float]:
    """The server's request and search figures: {(sample name, operation): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        exposition = answer.read().decode()
    figures: dict[tuple[str, str], float] = defaultdict(float)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name.startswith("plan_archive_search_duration_seconds_"):
                figures[(sample.name, "")] += sample.value
            elif sample.name.startswith("plan_archive_request_duration_seconds_") and (
                sample.labels.get("path") == "/graphql"
            ):
                figures[(sample.name, sample.labels.get("operation", ""))] += sample.value
    return figures


@contextmanager
def profiled(server_pid: int, py_spy: str | None, into: list[str]) -> Iterator[None]:
    """py-spy samples the server's processes while the block runs; the shares per layer are
    appended to ``into``."""
    if py_spy is None:
        yield
        return
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as out:
        path = Path(out.name)
    command = [py_spy, "record", "--pid", str(server_pid), "--subprocesses", "--nonblocking"]
    command += ["--full-filenames", "--rate", "50", "--format", "raw", "--output", str(path)]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
        _, problem = spy.communicate(timeout=60)
        try:
            into.extend(layers(path.read_text()))
        except OSError:
            into.append(f"py-spy wrote nothing: {problem.decode(errors='replace').strip()}")
        path.unlink(missing_ok=True)


# py-spy's frames read "Class.function (file:line)". Each sample is charged to its innermost frame
# that one of these matches (the first that does, in this order).
_OURS = re.escape(str(ROOT))
LAYERS = [
    ("index search (our index/, Whoosh)", rf"{_OURS}/index/|/whoosh/"),
    (  # SQLAlchemy's frames that call the driver's C code: running SQL and fetching rows
        "SQL in the driver (execute, fetch rows)",
        r"\bdo_execute(many|_no_params)? \(|\bfetch(one|many|all) \([^)]*/sqlalchemy/engine/cursor"
        r"|/psycopg",
    ),
    ("SQLAlchemy (ORM, Core, rows to objects)", r"/sqlalchemy/|/sqlite3/"),
    ("our archive/ (queries, lineage)", rf"{_OURS}/archive/"),
    ("JSON (bodies, JSON columns)", r"/json/"),
    ("graphql-core (validation, execution)", r"/graphql/"),
    ("Strawberry", r"/strawberry/"),
    ("our schema/ (resolvers, loaders)", rf"{_OURS}/schema/"),
    ("metrics, logs", rf"/prometheus_client/|/logging/|{_OURS}/server/(logs|metrics|middleware)"),
    ("HTTP, event loop", r"/uvicorn/|/starlette/|/h11/|/httptools/|/asyncio/"),
    ("our server/", rf"{_OURS}/server/"),
]
_LAYERS = [(name, re.compile(pattern)) for name, pattern in LAYERS]


def layers(raw: str) -> list[str]:
    """py-spy's raw stacks ("frame;frame;... count", outermost first) as shares per layer."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        name = next(
            (
                name
                for frame in reversed(stack.split(";"))
                for name, pattern in _LAYERS
                if pattern.search(frame)
            ),
            "other",
        )
        counts[name] += int(count)
    total = sum(counts.values()) or 1
    return [f"  {share / total:5.1%}  {name}" for name, share in counts.most_common()] + [
        f"  ({total} samples of the server's processes at 50 Hz, idle ones left out)"
    ]


# Report ---------------------------------------------------------------------------------


def report(
    title: str,
    phase: Phase,
    before: CpuSnapshot,
    after: CpuSnapshot,
    server: tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]],
    profile: list[str],
) -> None:
    print(f"\n== {title} ==")
    print(
        f"{'query':8s} {'requests':>9s} {'errors':>7s} {'p50 ms':>8s} {'p95 ms':>8s} "
        f"{'p99 ms':>8s} {'req/s':>7s}"
    )

    def rows(until: float | None, seconds: float) -> None:
        everything: list[float] = []
        for kind in KINDS:
            timings = [ms for at, ms in phase.latencies[kind] if until is None or at < until]
            everything += timings
            _row(kind, timings, phase.errors[kind] if until is None else None, seconds)
        _row("all", everything, sum(phase.errors.values()) if until is None else None, seconds)

    rows(None, phase.seconds)
    if phase.causes:
        print("errors  " + ", ".join(f"{n} {cause}" for cause, n in phase.causes.most_common()))
    moments = [f"{' + '.join(map(str, counts))} at {at:.0f} s" for at, counts in phase.spread]
    print(f"clients per worker: {', '.join(moments) or 'unknown'}")
    if phase.ingest_seconds is not None:
        print(
            f"ingest  {phase.ingest_seconds:.1f} s for {len(phase.ingest_lines)} CLI run(s); "
            f"the load lasted {phase.seconds:.1f} s"
        )
        for line in phase.ingest_lines:
            print(f"  {line}")
        if phase.ingest_seconds < phase.seconds - 1:
            print(f"-- of which sent while the ingest ran (first {phase.ingest_seconds:.1f} s) --")
            rows(phase.ingest_seconds, phase.ingest_seconds)
    wall = after.at - before.at
    cores = os.cpu_count() or 1
    server_cpu = after.server - before.server
    own = after.own - before.own
    postgres = after.postgres - before.postgres
    rest = (after.busy - before.busy) - server_cpu - phase.ingest_cpu - own - postgres
    print(
        f"cpu     server {server_cpu:.1f} s, ingest {phase.ingest_cpu:.1f} s, "
        f"load clients {own:.1f} s"
        + (f", PostgreSQL {postgres:.1f} s" if postgres >= 0.05 else "")
        + f", rest of the machine {max(rest, 0):.1f} s"
        + (" (py-spy's included)" if profile else "")
        + f"; of {cores * wall:.0f} s "
        f"({cores} cores × {wall:.1f} s)"
    )
    start, end = server

    def delta(name: str, operation: str = "") -> float:
        return end[(f"plan_archive_{name}", operation)] - start[(f"plan_archive_{name}", operation)]

    means = []
    for kind in KINDS:
        count = delta("request_duration_seconds_count", OPERATIONS[kind])
        total = delta("request_duration_seconds_sum", OPERATIONS[kind])
        timings = [ms for _, ms in phase.latencies[kind]]
        client_mean = sum(timings) / len(timings) if timings else 0.0
        if count:
            means.append(
                f"{kind} {total / count * 1000:.0f} ms in the app of {client_mean:.0f} ms "
                "at the client"
            )
            if kind == "search":
                index = delta("search_duration_seconds_sum")
                means[-1] += f", {index / count * 1000:.0f} ms of it in the index search"
    print("server  mean per request: " + "; ".join(means))
    if profile:
        print("py-spy  the server's CPU samples by layer (innermost known frame):")
        for line in profile:
            print(line)


def _row(kind: str, timings: list[float], errors: int | None, seconds: float) -> None:
    if not timings:
        print(f"{kind:8s} {0:9d}")
        return
    shown = "-" if errors is None else str(errors)
    print(
        f"{kind:8s} {len(timings):9d} {shown:>7s} {percentile(timings, 0.5):8.1f} "
        f"{percentile(timings, 0.95):8.1f} {percentile(timings, 0.99):8.1f} "
        f"{len(timings) / seconds:7.1f}"
    )


# The run --------------------------------------------------------------------------------


@contextmanager
def store(database_url: str) -> Iterator[str]:
    """The URL the archive lives at: "" (SQLite in the data folder), or a fresh schema of its
    own on ``database_url`` (as tests/conftest.py does), dropped afterwards."""
    if not database_url:
        yield ""
        return
    schema = f"load_bench_{uuid.uuid4().hex[:12]}"
    admin = db.create_store_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def new_reports(measures: int, count: int, folder: Path, runs: int) -> list[Path]:
    """``count`` reports of fiscal years after the archive's, in ``runs`` folders."""
    base = -(-measures // 100)  # the archive's reports, the last one maybe partial
    files = reports((base + count) * 100)[base:]
    folders = [folder / f"run-{n + 1}" for n in range(runs)]
    for n, (name, data) in enumerate(files):
        target = folders[n * runs // len(files)]
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    return [f for f in folders if f.is_dir()]


def measure_ids(data_dir: Path, database_url: str) -> list[int]:
    env = {"PLAN_ARCHIVE_DATA_DIR": str(data_dir), "PLAN_ARCHIVE_DATABASE_URL": database_url}
    engine = open_store(Settings.from_env(env, env_file=None))
    with reader(engine)() as session:
        ids = list(session.scalars(select(Measure.id).order_by(Measure.id)))
    engine.dispose()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--ingest-reports", type=int, default=60, help="100 measures each")
    parser.add_argument("--ingest-runs", type=int, default=1, help="CLI runs they are split in")
    parser.add_argument(
        "--ingest-nice", type=int, help="the runs' --nice (default: the CLI's own, 10)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="", help="PostgreSQL; default: SQLite")
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a client pauses after each answer"
    )
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy's path")
    arguments = parser.parse_args()
    py_spy = arguments.py_spy if arguments.profile else None
    if arguments.profile and not py_spy:
        parser.error("--profile needs py-spy: pip install py-spy, or give --py-spy PATH")
    os.environ["PLAN_ARCHIVE_RESPONSE_CACHE_MB"] = "0"  # _serve passes os.environ on; and off
    kind_of_store = "PostgreSQL" if arguments.database_url else "SQLite"
    with tempfile.TemporaryDirectory() as folder, store(arguments.database_url) as url:
        data_dir = Path(folder) / "data"
        build(data_dir, arguments.measures, url)
        ids = measure_ids(data_dir, url)
        bodies = payloads(ids)
        folders = new_reports(
            arguments.measures,
            arguments.ingest_reports,
            Path(folder) / "new",
            max(1, min(arguments.ingest_runs, arguments.ingest_reports)),
        )
        env = {**os.environ, "PLAN_ARCHIVE_DATA_DIR": str(data_dir)}
        env["PLAN_ARCHIVE_DATABASE_URL"] = url
        server, port = _serve(data_dir, arguments.workers, False, url)
        try:
            # Warm every worker (its snapshot of the index, its connections) first.
            asyncio.run(run_phase(server.pid, port, arguments.clients, 5, bodies))
            alone = asyncio.run(run_phase(server.pid, port, 1, 6, bodies))
            print(
                "one client alone, each request's own time (p50): "
                + ", ".join(
                    f"{kind} {percentile([ms for _, ms in alone.latencies[kind]], 0.5):.0f} ms"
                    for kind in KINDS
                )
            )
            setting = (
                f"{arguments.clients} clients (think {arguments.think:g} s), "
                f"{arguments.workers} workers, response cache off, {kind_of_store}"
            )
            for ingesting in (True, False):
                profile: list[str] = []
                start, before = scrape(port), cpu_snapshot(server.pid)
                with profiled(server.pid, py_spy, profile):
                    phase = asyncio.run(
                        run_phase(
                            server.pid,
                            port,
                            arguments.clients,
                            arguments.seconds,
                            bodies,
                            folders if ingesting else None,
                            env,
                            arguments.think,
                            []
                            if arguments.ingest_nice is None
                            else ["--nice", str(arguments.ingest_nice)],
                        )
                    )
                after = cpu_snapshot(server.pid)
                end = scrape(port)
                title = (
                    f"{arguments.measures:,} measures while {arguments.ingest_reports} reports "
                    f"are ingested, {setting}"
                    if ingesting
                    else f"{arguments.measures + 100 * arguments.ingest_reports:,} measures, "
                    f"no ingest, {setting}"
                )
                report(title, phase, before, after, (start, end), profile)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
