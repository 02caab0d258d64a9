"""No request stalls the server: work runs off the event loop, and stops when its time is up.

These start real ``plan-archive serve`` processes: the event loop that matters is uvicorn's.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import variants
from tests.conftest import REPORTS, SAMPLE, served
from tests.server.test_bulk import _run

# Every field that costs work per measure, in as many aliases as the cost limit lets through
# (a test below checks that one more alias is refused): the heaviest query the limits allow.
_FIELDS = (
    "id title description achievement carryOverFlags departments { name } "
    "history { id title } document { title } indicators { value unit }"
)


def _heavy(aliases: int) -> str:
    parts = [
        f"a{i}: measures(first: 100, filter: {{fiscalYearFrom: {1990 + i}}}) "
        f"{{ totalCount edges {{ node {{ {_FIELDS} }} }} }}"
        for i in range(aliases)
    ]
    return "{ " + " ".join(parts) + " }"


def _post(port: int, query: str, timeout: float = 60) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _healthz_seconds(port: int) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as answer:
        answer.read()
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def busy_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three years of the sample and 30 other cities: 396 measures, so every alias of the
    heavy query gets its full page of 100."""
    folder = tmp_path_factory.mktemp("busy")
    cities = variants.other_cities(folder / "cities", SAMPLE.read_text(encoding="utf-8"), range(30))
    # One process for all (its exit status is 0 only when every file was stored): the
    # archive is what this fixture is for, not the process.
    assert _run(folder, "ingest", *map(str, [*REPORTS, cities]))[0] == 0
    return folder / "data"


def test_healthz_answers_fast_while_the_heaviest_queries_run_on_every_worker(
    busy_archive: Path,
) -> None:
    with served(
        busy_archive, workers=2, PLAN_ARCHIVE_RESPONSE_CACHE_MB="0", PLAN_ARCHIVE_METRICS="off"
    ) as (_, port, _env):
        aliases = 1
        while "errors" not in _post(port, _heavy(aliases + 1))[1]:
            aliases += 1
        heavy = _heavy(aliases)
        status, body = _post(port, heavy)
        assert status == 200
        assert "errors" not in body, body
        assert _post(port, _heavy(aliases + 1))[1]["errors"]  # the limit is the cost's

        stop = threading.Event()
        answered: list[int] = []

        payload = json.dumps({"query": heavy}).encode()

        def client() -> None:
            # Bytes only: decoding the large answers here would hold this process's GIL and
            # slow the probes' own clock, not the server.
            while not stop.is_set():
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=payload,
                    headers={"content-type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        body = answer.read()
                except OSError:  # an HTTP error status included: counted, not lost
                    answered.append(-1)
                    continue
                answered.append(answer.status if b'"errors"' not in body else 0)

        clients = [threading.Thread(target=client) for _ in range(8)]  # 4 per worker
        for thread in clients:
            thread.start()
        try:
            time.sleep(1.0)  # every worker busy
            probes = []
            for _ in range(20):
                probes.append(_healthz_seconds(port))
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
    assert set(answered) == {200}
    assert len(answered) >= 8  # the heavy queries did run meanwhile
    # Within 100 ms: the median and 18 of the 20 probes (a shared 2-core machine may pause a
    # process now and then); a blocked loop makes most of them wait for a query.
    assert statistics.median(probes) <= 0.1, probes
    assert sorted(probes)[-3] <= 0.1, probes


def test_a_timed_out_upload_stops_and_frees_its_worker(sample_cli_data: Path) -> None:
    """An upload that takes longer than the request's time is answered with a timeout, its
    reading is stopped (no process left reading it), and the server's only worker thread is
    free for the next request at once."""
    text = SAMPLE.read_bytes()
    body = text.split(b"\n", 3)[3]
    big = text + b"\n".join([body] * 3000)  # about 26 MB: many seconds of parsing
    with served(
        sample_cli_data,
        PLAN_ARCHIVE_API_TOKENS="secret",
        PLAN_ARCHIVE_REQUEST_TIMEOUT="2",
        PLAN_ARCHIVE_WORKER_THREADS="1",
        PLAN_ARCHIVE_METRICS="off",
    ) as (server, port, _env):
        operations = json.dumps(
            {
                "query": "mutation($f: Upload!) { ingestDocument(file: $f) { id } }",
                "variables": {"f": None},
            }
        )
        boundary = "plan-archive-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            f"{operations}\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
            '{"0": ["variables.f"]}\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n",
        ]
        payload = "".join(parts).encode() + big + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=payload,
            headers={
                "content-type": f"multipart/form-data; boundary={boundary}",
                "authorization": "Bearer secret",
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, answered = answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            status, answered = error.code, json.loads(error.read())
        took = time.monotonic() - started
        assert answered["errors"][0]["extensions"]["code"] == "TIMEOUT", answered
        assert took < 5, took
        # The next request gets the one worker thread at once: the upload's work stopped.
        started = time.monotonic()
        status, found = _post(port, "{ fiscalYears { year } }")
        assert status == 200
        assert found["data"], found
        assert time.monotonic() - started < 1.5
        assert _readers(server.pid) == []  # no child process still reading the upload
        # Nothing goes on reading it in the server either: it stays idle.
        before = _cpu_seconds(server.pid)
        time.sleep(2)
        assert _cpu_seconds(server.pid) - before < 0.5
        assert len(_post(port, "{ documents { id } }")[1]["data"]["documents"]) == 1  # type: ignore[index]


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _readers(server: int) -> list[int]:
    """The server's children reading an upload (``archive/isolated.py``)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if b"archive.isolated" in command and parent == server:
            found.append(int(entry))
    return found
