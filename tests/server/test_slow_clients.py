"""Slow and idle clients against a real ``plan-archive serve``, through raw sockets: the head
deadline and the cap on connections (server/connections.py)."""

from __future__ import annotations

import http.client
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.connections import OTHER_FILES
from server.settings import Settings, SettingsError
from tests.conftest import served

DEADLINE = 1.5  # PLAN_ARCHIVE_HEADER_TIMEOUT of the server under test
CAP = 4  # PLAN_ARCHIVE_MAX_CONNECTIONS
SLACK = 2.0  # a loaded machine's delay on top of a deadline
HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # a head without its closing blank line


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    data_dir = tmp_path_factory.mktemp("slow-clients") / "data"
    with served(
        data_dir,
        PLAN_ARCHIVE_HEADER_TIMEOUT=str(DEADLINE),
        PLAN_ARCHIVE_MAX_CONNECTIONS=str(CAP),
        PLAN_ARCHIVE_REQUEST_TIMEOUT="2",
    ) as (_, serving, _):
        time.sleep(0.3)  # the start-up probe's connection is gone, not counted
        yield serving


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _until_closed(connection: socket.socket, limit: float, trickle: bool = False) -> float:
    """Seconds until the server closes ``connection`` (``limit`` if it has not by then),
    sending a byte of header every 0.1 s meanwhile when ``trickle``."""
    started = time.monotonic()
    connection.settimeout(0.1)
    while time.monotonic() - started < limit:
        try:
            if trickle:
                connection.sendall(b"x")
            if not connection.recv(65536):
                break
        except TimeoutError:
            continue
        except OSError:  # reset: the server closed with our last bytes unread
            break
    return time.monotonic() - started


def _still_open(connection: socket.socket) -> bool:
    """Whether the server holds ``connection`` (whatever it sent before closing it)."""
    connection.settimeout(0.05)
    try:
        while connection.recv(65536):
            pass
    except TimeoutError:
        return True
    except OSError:
        pass
    return False


def _healthz(port: int) -> tuple[int, float]:
    """The status of ``GET /healthz`` on a new connection, and the seconds it took."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, time.monotonic() - started


def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_deadline(port: int) -> None:
    with _connect(port) as connection:
        connection.sendall(HEAD)
        took = _until_closed(connection, DEADLINE + SLACK, trickle=True)
    assert DEADLINE * 0.9 < took < DEADLINE + SLACK, took


def test_a_slow_head_is_told_408(port: int) -> None:
    with _connect(port) as connection:
        connection.sendall(HEAD)
        connection.settimeout(DEADLINE + SLACK)
        assert connection.recv(65536).startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed_quietly(port: int) -> None:
    with _connect(port) as connection:
        connection.settimeout(DEADLINE + SLACK)
        started = time.monotonic()
        assert connection.recv(65536) == b""  # closed without an answer to no request
        took = time.monotonic() - started
    assert DEADLINE * 0.9 < took < DEADLINE + SLACK, took


def test_a_kept_alive_connection_has_the_deadline_for_its_next_head(port: int) -> None:
    """uvicorn's keep-alive timer stops at the first byte of the next request; the head
    deadline does not."""
    with _connect(port) as connection:
        connection.sendall(HEAD + b"\r\n")
        answer = b""
        while not answer.endswith(b"}"):  # /healthz answers a JSON object
            answer += connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 ")
        connection.sendall(b"GET /")
        took = _until_closed(connection, DEADLINE + SLACK, trickle=True)
    assert DEADLINE * 0.9 < took < DEADLINE + SLACK, took


def test_a_keep_alive_client_is_served_on_one_connection_past_the_deadline(port: int) -> None:
    """Each answer starts the deadline again: a client that sends whole requests keeps its
    connection for as long as it likes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        ports = set()
        for _ in range(5):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            assert connection.sock is not None
            ports.add(connection.sock.getsockname()[1])
            time.sleep(DEADLINE / 3)
    finally:
        connection.close()
    assert len(ports) == 1  # the same connection throughout, 5 × DEADLINE / 3 > DEADLINE


def test_slow_clients_at_the_cap_make_room_for_a_whole_request(port: int) -> None:
    """The connection that has waited longest for a head is closed when a new one would pass
    the cap, so slow clients cannot keep a client that sends its request from being served."""
    slow = []
    try:
        for _ in range(CAP):
            slow.append(_connect(port))
            slow[-1].sendall(HEAD)
            time.sleep(0.02)  # in this order on the server too
        time.sleep(0.1)
        status, took = _healthz(port)
        assert (status, took < 1) == (200, True), took
        time.sleep(0.1)
        assert [_still_open(connection) for connection in slow] == [False] + [True] * (CAP - 1)
    finally:
        for connection in slow:
            connection.close()


def test_past_the_cap_of_requests_under_way_a_new_one_is_refused_at_once(port: int) -> None:
    """Requests whose bodies never come hold every place (a slow POST): a new request is
    answered 503 without waiting, and served again once the request timeout has cut them."""
    busy = []
    try:
        for _ in range(CAP):
            busy.append(_connect(port))
            busy[-1].sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        time.sleep(0.2)
        status, took = _healthz(port)
        assert (status, took < 1) == (503, True), took
        for connection in busy:  # the request timeout (2 s) answers them
            connection.settimeout(2 + SLACK)
            assert connection.recv(65536).startswith(b"HTTP/1.1 503 ")
        assert _healthz(port)[0] == 200
    finally:
        for connection in busy:
            connection.close()


def test_each_worker_process_has_the_deadline(tmp_path: Path) -> None:
    """With --workers 2 uvicorn starts each worker from its pickled config: the deadline
    reaches them too."""
    with served(tmp_path / "data", workers=2, PLAN_ARCHIVE_HEADER_TIMEOUT="1") as (_, port, _):
        connections = [_connect(port) for _ in range(6)]
        try:
            for connection in connections:
                assert _until_closed(connection, 1 + SLACK) < 1 + SLACK
        finally:
            for connection in connections:
                connection.close()


def test_the_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"PLAN_ARCHIVE_HEADER_TIMEOUT": "2.5", "PLAN_ARCHIVE_MAX_CONNECTIONS": "300"},
        env_file=None,
    )
    assert (settings.header_timeout, settings.max_connections) == (2.5, 300)
    defaults = Settings.from_env({}, env_file=None)
    assert (defaults.header_timeout, defaults.max_connections) == (10.0, 1000)
    for name in ("PLAN_ARCHIVE_HEADER_TIMEOUT", "PLAN_ARCHIVE_MAX_CONNECTIONS"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: "0"}, env_file=None)


def _cap_under(soft: int, hard: int, max_connections: int) -> tuple[int, int, str]:
    """The cap ``serve`` would give uvicorn in a process started with these limits of open
    files, the soft limit it then has, and what it logged."""
    script = (
        "import resource\n"
        "from server.connections import uvicorn_options\n"
        "from server.settings import Settings\n"
        f"environ = {{'PLAN_ARCHIVE_MAX_CONNECTIONS': '{max_connections}'}}\n"
        "options = uvicorn_options(Settings.from_env(environ, env_file=None))\n"
        "print(options['limit_concurrency'] - 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard)),
        capture_output=True,
        text=True,
        check=True,
    )
    cap, after = map(int, done.stdout.split())
    return cap, after, done.stderr


def test_the_cap_is_given_the_open_files_it_needs() -> None:
    """A process out of open files resets every new connection: serve raises its soft limit
    to the hard one, and lowers a cap that still does not fit, saying so."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard < 2000:
        pytest.skip(f"the hard limit of open files is {hard}")
    assert _cap_under(256, 2000, 1000)[:2] == (1000, 2000)
    cap, after, logged = _cap_under(512, 512, 1000)
    assert (cap, after) == (512 - OTHER_FILES, 512)
    assert "PLAN_ARCHIVE_MAX_CONNECTIONS=1000 does not fit in 512 open files" in logged
