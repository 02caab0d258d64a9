"""A slowloris against ``plan-archive serve``: how many slow connections it still holds, and
how fast ``/healthz`` answers meanwhile (issue 14).

    .venv/bin/python bench/slow_clients_bench.py --clients 3000 --seconds 30
    .venv/bin/python bench/slow_clients_bench.py --clients 3000 --seconds 30 --reconnect
    .venv/bin/python bench/slow_clients_bench.py --clients 3000 --seconds 30 --uvicorn

``--clients`` connections each send the start of a request head and then one byte a second,
never its end. With ``--reconnect`` a connection the server closes is opened again at once (an
attacker that keeps the pressure on). Meanwhile another thread asks ``GET /healthz`` on a new
connection twice a second (5 s timeout). Printed: the connections held by the server every few
seconds, then each probe's status and time. ``--uvicorn`` runs the server as it was before
issue 14 (``uvicorn.run`` with no head deadline and no cap) for comparison; ``--open-files``
gives the server that limit of open files, soft and hard (1024 is a common default of
shells and systemd units). Traffic goes to 127.0.0.1 only, and stops after ``--seconds``.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = b"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n"
# The server as it ran before issue 14: the same app, uvicorn's defaults.
UVICORN = (
    "import uvicorn; uvicorn.run('server.app:app_from_env', factory=True, host='127.0.0.1', "
    "port={port}, log_level='warning', access_log=False)"
)


def _serve(data_dir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PLAN_ARCHIVE_DATA_DIR": str(data_dir), "PLAN_ARCHIVE_METRICS": "off"}
    env.pop("PLAN_ARCHIVE_DATABASE_URL", None)
    env["PLAN_ARCHIVE_HEADER_TIMEOUT"] = str(args.header_timeout)
    env["PLAN_ARCHIVE_MAX_CONNECTIONS"] = str(args.max_connections)
    env["PYTHONPATH"] = str(ROOT)
    if args.uvicorn:
        # migrate the store once, as serve would, then run the bare uvicorn
        subprocess.run(
            [sys.executable, "-m", "server.cli", "check", "--repair"],
            env=env,
            cwd=data_dir.parent,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        command = [sys.executable, "-c", UVICORN.format(port=port)]
    else:
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        command += ["--workers", str(args.workers)]
    limit: Callable[[], None] | None = None
    if args.open_files:

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.open_files, args.open_files))

    server = subprocess.Popen(
        command,
        env=env,
        cwd=data_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=limit,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                break
        except OSError:
            time.sleep(0.2)
    return server, port


class _Attack:
    """``clients`` slow connections, counted while the server holds them."""

    def __init__(self, port: int, clients: int, reconnect: bool, until: float) -> None:
        self.port, self.clients, self.reconnect, self.until = port, clients, reconnect, until
        self.held = 0
        self.opened = 0
        self.refused = 0  # connect() failed: the server's backlog is full, or it is gone
        self.cut = 0
        self.told_408 = 0
        self.times_held: list[float] = []  # seconds each cut connection was held

    async def run(self) -> None:
        await asyncio.gather(*(self._one() for _ in range(self.clients)))

    async def _one(self) -> None:
        while time.monotonic() < self.until:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), 5
                )
            except (OSError, TimeoutError):
                self.refused += 1
                await asyncio.sleep(1)
                continue
            self.opened += 1
            self.held += 1
            opened = time.monotonic()
            closed = asyncio.ensure_future(reader.read(1024))
            try:
                writer.write(HEAD)
                while time.monotonic() < self.until and not closed.done():
                    await asyncio.wait([closed], timeout=1)
                    if not closed.done():
                        writer.write(b"X")  # one byte a second, never the blank line
                if closed.done():
                    self.cut += 1
                    self.times_held.append(time.monotonic() - opened)
                    if not closed.exception() and closed.result().startswith(b"HTTP/1.1 408"):
                        self.told_408 += 1
            except OSError:
                self.cut += 1
                self.times_held.append(time.monotonic() - opened)
            finally:
                self.held -= 1
                closed.cancel()
                writer.close()
            if not self.reconnect:
                return


def _probe(port: int, until: float, results: list[tuple[float, str, float]]) -> None:
    started = time.monotonic()
    while time.monotonic() < until:
        asked = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            status = str(connection.getresponse().status)
            connection.close()
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
        results.append((asked - started, status, time.monotonic() - asked))
        time.sleep(max(0.0, 0.5 - (time.monotonic() - asked)))


def _server_connections(pid: int) -> int:
    """TCP sockets open in the server and its workers."""
    pids = [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    count = 0
    for one in pids:
        with contextlib.suppress(OSError):  # a worker or a socket gone meanwhile
            for fd in Path(f"/proc/{one}/fd").iterdir():
                with contextlib.suppress(OSError):
                    count += os.readlink(fd).startswith("socket:")
    return count


async def _attack(port: int, server: subprocess.Popen[bytes], args: argparse.Namespace) -> None:
    until = time.monotonic() + args.seconds
    attack = _Attack(port, args.clients, args.reconnect, until)
    probes: list[tuple[float, str, float]] = []
    prober = threading.Thread(target=_probe, args=(port, until, probes), daemon=True)
    started = time.monotonic()
    running = asyncio.ensure_future(attack.run())
    prober.start()
    print("   t  open at the attack  server sockets  opened  cut (408)  connects refused")
    while time.monotonic() < until:
        await asyncio.sleep(max(0.0, min(args.every, until - time.monotonic())))
        print(
            f"{time.monotonic() - started:4.0f}s  {attack.held:18,d}  "
            f"{_server_connections(server.pid):14,d}  {attack.opened:6,d}  "
            f"{attack.cut:,d} ({attack.told_408:,d})  {attack.refused:,d}"
        )
    await running
    prober.join()
    held = sorted(attack.times_held)
    if held:
        print(
            f"cut connections held for: p50 {held[len(held) // 2]:.2f} s, "
            f"max {held[-1]:.2f} s ({len(held):,d} cut of {attack.opened:,d} opened)"
        )
    print("\n/healthz during the attack (t, status, seconds):")
    line = []
    for at, status, took in probes:
        line.append(f"{at:4.1f}s {status} {took:.3f}")
        if len(line) == 5:
            print("  " + "   ".join(line))
            line = []
    if line:
        print("  " + "   ".join(line))
    answered = sorted(took for _, status, took in probes if status == "200")
    statuses: dict[str, int] = {}
    for _, status, _ in probes:
        statuses[status] = statuses.get(status, 0) + 1
    p50 = answered[len(answered) // 2] if answered else float("nan")
    worst = max((took for _, _, took in probes), default=float("nan"))
    print(f"probes: {statuses}; 200 in p50 {p50 * 1000:.1f} ms; slowest probe {worst:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--every", type=float, default=2.5, help="seconds between count lines")
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("--uvicorn", action="store_true", help="the server before issue 14")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--header-timeout", type=float, default=10.0)
    parser.add_argument("--max-connections", type=int, default=1000)
    parser.add_argument("--open-files", type=int, default=0, help="the server's, soft and hard")
    args = parser.parse_args()
    ours = resource.getrlimit(resource.RLIMIT_NOFILE)
    if ours[0] < args.clients + 100:  # this process holds every attacking connection
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(ours[1], args.clients + 100), ours[1]))
    setup = "uvicorn as before issue 14"
    if not args.uvicorn:
        setup = f"plan-archive serve --workers {args.workers}, header timeout "
        setup += f"{args.header_timeout:g} s, max connections {args.max_connections}"
    limit = f", open files {args.open_files}" if args.open_files else ""
    print(f"{args.clients} slow clients{' reconnecting' if args.reconnect else ''}; {setup}{limit}")
    with tempfile.TemporaryDirectory() as folder:
        server, port = _serve(Path(folder) / "data", args)
        try:
            asyncio.run(_attack(port, server, args))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
