"""Kept-alive connections spread evenly over a real ``plan-archive serve --workers 2``
(server/balance.py), through standard HTTP/1.1 clients that connect again after
``Connection: close``."""

from __future__ import annotations

import http.client
import os
import signal
import time
from pathlib import Path

import pytest

from server.balance import FOLDER_VARIABLE, REFRESH
from tests.conftest import served

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

CLIENTS = 12


def _workers(server_pid: int) -> list[int]:
    """The server's worker processes (uvicorn spawns them with multiprocessing)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == server_pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def _connections(pid: int, port: int) -> int:
    """The established connections to ``port`` that process ``pid`` holds."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(f"socket:[{fields[9]}]")
    held = 0
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            held += os.readlink(descriptor) in established
        except OSError:
            continue
    return held


def _until_both_joined(*workers: int) -> None:
    """Wait until each worker has published its count (server/balance.py): the server
    answered its start-up probe from one worker, the other may still be starting."""
    environ = Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
    variable = f"{FOLDER_VARIABLE}=".encode()
    folder = Path(next(e for e in environ if e.startswith(variable))[len(variable) :].decode())
    deadline = time.monotonic() + 60
    while {p.name for p in folder.iterdir()} < {str(w) for w in workers}:
        assert time.monotonic() < deadline, "a worker never published its count"
        time.sleep(0.05)


def test_connections_made_while_one_worker_was_stopped_end_up_spread_evenly(tmp_path: Path) -> None:
    with served(tmp_path / "data", workers=2) as (server, port, _):
        first, second = _workers(server.pid)
        _until_both_joined(first, second)
        clients = [
            http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CLIENTS)
        ]
        os.kill(second, signal.SIGSTOP)  # every connection goes to the first worker
        try:
            for client in clients:
                client.request("GET", "/healthz")
                assert client.getresponse().read()
        finally:
            os.kill(second, signal.SIGCONT)
        statuses = set()
        # Each client's next requests, until a whole round of them keeps its connections
        # (each worker then holds its share), or for 10 s. The workers list each other's
        # counts every REFRESH seconds: a round without a close before they have says nothing.
        started = time.monotonic()
        settled, deadline = started + 2 * REFRESH, started + 10
        while True:
            told_to_close = 0
            for client in clients:
                client.request("GET", "/healthz")  # a closed connection is opened again
                response = client.getresponse()
                response.read()
                statuses.add(response.status)
                told_to_close += response.will_close
            now = time.monotonic()
            if (not told_to_close and now > settled) or now > deadline:
                break
        counts = [_connections(first, port), _connections(second, port)]
        for client in clients:
            client.close()
    assert statuses == {200}  # nobody was refused: only told to connect again
    assert sorted(counts) == [CLIENTS // 2, CLIENTS // 2]
