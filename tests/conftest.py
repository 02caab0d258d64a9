"""Shared fixtures: the bundled sample, stores on real SQLite (and PostgreSQL when configured)."""

from __future__ import annotations

import os

# A PROMETHEUS_MULTIPROC_DIR from the developer's shell would put every figure of the suite
# in that folder (prometheus_client reads it once, at import): gone before anything imports it.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# Tests run ``plan-archive ingest`` inside the pytest process (click's CliRunner): its default
# --nice would lower the whole suite's priority from then on, and every later test would wait
# behind the rest of a shared machine. tests/server/test_ingest_nice.py runs it as users do.
os.environ["PLAN_ARCHIVE_INGEST_NICE"] = "0"

import hashlib
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from archive import db
from archive.parse import ParsedReport, parse_report
from server.app import create_app
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample" / "hitachi-action-plan-fy2020.txt"
# Three years of the Hitachi report (FY2019-2021): measures with a history across years.
REPORTS = [
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2019.txt",
    SAMPLE,
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2021.txt",
]
PG_URL = os.environ.get("PLAN_ARCHIVE_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PLAN_ARCHIVE_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL "
    "(postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests"
)
# The store every archive of the suite lives in: "sqlite" (a file in its data folder), or
# "postgresql" (a schema of its own on PLAN_ARCHIVE_TEST_DATABASE_URL). `dev.py test` runs
# the suite once with each when a PostgreSQL server is configured.
STORE = os.environ.get("PLAN_ARCHIVE_TEST_STORE", "sqlite")
_SCHEMAS: set[str] = set()


def store_env(data_dir: Path) -> dict[str, str]:
    """Environment for an archive in ``data_dir``, its store on the suite's store (STORE).

    On PostgreSQL each data folder gets its own schema, named after the folder, so settings
    made twice for one folder reach the same store.
    """
    env = {"PLAN_ARCHIVE_DATA_DIR": str(data_dir)}
    if STORE == "postgresql":
        if not PG_URL:
            raise RuntimeError(f"PLAN_ARCHIVE_TEST_STORE=postgresql: {PG_SKIP_REASON}")
        digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
        schema = f"t_{digest}"
        if schema not in _SCHEMAS:
            admin = db.create_store_engine(PG_URL)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            admin.dispose()
            _SCHEMAS.add(schema)
        separator = "&" if "?" in PG_URL else "?"
        env["PLAN_ARCHIVE_DATABASE_URL"] = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    return env


def index_of_the_segment_format(index_dir: Path) -> None:
    """Replace the index by what plan-archive wrote before Whoosh came back (decision 0004):
    a generation of numpy segments committed by ``TOC-<n>.json``."""
    shutil.rmtree(index_dir)
    folder = index_dir / "g1764000000000000000"
    folder.mkdir(parents=True)
    toc = {"segments": [{"name": "s19a0", "count": 12, "deleted": []}]}
    (folder / "TOC-00000001.json").write_text(json.dumps(toc), encoding="utf-8")
    for suffix in (".offsets.npy", ".docs.npy", ".freqs.npy", ".terms.pkl", ".stored.pkl"):
        (folder / f"s19a0{suffix}").write_bytes(b"\x93NUMPY")
    (folder / "WRITE.lock").touch()
    (index_dir / "CURRENT").write_text(folder.name, encoding="utf-8")


def index_of_an_earlier_whoosh_schema(index_dir: Path) -> None:
    """Replace the index by a Whoosh index as plan-archive wrote it before decision 0004:
    another schema, whose pickled analyzer class no longer exists anywhere."""
    from whoosh.fields import TEXT, Schema
    from whoosh.index import create_in

    shutil.rmtree(index_dir)
    folder = index_dir / "g1700000000000000000"
    folder.mkdir(parents=True)
    module = index_dir / "gone_analysis.py"
    module.write_text(
        "from whoosh.analysis import RegexTokenizer\n"
        "class JapaneseTokenizer(RegexTokenizer):\n    pass\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(index_dir))
    try:
        import gone_analysis  # type: ignore[import-not-found]

        schema = Schema(all=TEXT(analyzer=gone_analysis.JapaneseTokenizer()))
        writer = create_in(str(folder), schema).writer()
        writer.add_document(all="市民サービス")
        writer.commit()
    finally:
        sys.path.remove(str(index_dir))
        sys.modules.pop("gone_analysis", None)
        module.unlink()
    (index_dir / "CURRENT").write_text(folder.name, encoding="utf-8")


def index_without_words(index_dir: Path) -> None:
    """Replace the index by one of the schema before word matches (#17 point 1): today's
    fields and analyzer, without the ``words`` field."""
    from whoosh.index import create_in

    from index.fields import schema

    shutil.rmtree(index_dir)
    folder = index_dir / "g1780000000000000000"
    folder.mkdir(parents=True)
    earlier = schema()
    earlier.remove("words")
    writer = create_in(str(folder), earlier).writer()
    writer.add_document(key="m1", kind="measure", all="市民サービス", title="市民サービス")
    writer.commit()
    (index_dir / "CURRENT").write_text(folder.name, encoding="utf-8")


EARLIER_INDEXES = {
    "segment format": index_of_the_segment_format,
    "earlier Whoosh schema": index_of_an_earlier_whoosh_schema,
    "index without words": index_without_words,
}


def settings_for(data_dir: Path, **env: str) -> Settings:
    """Settings for an archive in ``data_dir`` on the suite's store, with ``env`` on top."""
    return Settings.from_env({**store_env(data_dir), **env}, env_file=None)


# Folders whose files start processes, servers and browsers: the longest files of the suite
# (up to 40 s each, against a second or two for most others).
_LONG_FIRST = ("tests/server/", "tests/browser/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the long files first. pytest-xdist (``--dist loadfile``) hands files to workers
    in this order, so a long file handed out last would leave the other worker idle while it
    runs; first, the short ones fill in around it. Each file's own order is kept."""

    def long_first(item: pytest.Item) -> bool:
        return not item.nodeid.startswith(_LONG_FIRST)

    items.sort(key=long_first)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_schemas() -> Iterator[None]:
    yield
    if _SCHEMAS:
        admin = db.create_store_engine(PG_URL)
        for schema in _SCHEMAS:  # one transaction each: all at once outgrows the lock table
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="session")
def sample_text(sample_bytes: bytes) -> str:
    return sample_bytes.decode("utf-8")


@pytest.fixture(scope="session")
def sample_report(sample_text: str) -> ParsedReport:
    return parse_report(sample_text)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated store: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        store = db.create_store_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
        db.upgrade(store)
        yield store
        store.dispose()
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = db.create_store_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = db.create_store_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        db.upgrade(store)
        yield store
    finally:
        store.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def archive_of(data_dir: Path, reports: list[Path]) -> Settings:
    """Settings for a data folder holding ``reports``, ingested through the real path."""
    from archive.db import reader, writer
    from archive.ingest import prepare_document, store_document
    from index.writing import apply_pending
    from server.resources import open_store

    settings = settings_for(data_dir)
    engine = open_store(settings)
    for path in reports:
        with writer(engine)() as session, session.begin():
            store_document(session, prepare_document(path.read_bytes(), path.name))
    apply_pending(reader(engine), settings.index_dir)
    engine.dispose()
    return settings


ArchiveCopy = Callable[[Path, list[Path]], Settings]


@pytest.fixture(scope="session")
def _archive_templates() -> dict[tuple[Path, ...], Path]:
    """Data folders made by ``archive_of`` once per run, by the reports they hold."""
    return {}


@pytest.fixture
def archive_copy(
    tmp_path_factory: pytest.TempPathFactory, _archive_templates: dict[tuple[Path, ...], Path]
) -> ArchiveCopy:
    """``archive_copy(data_dir, reports)``: what ``archive_of(data_dir, reports)`` makes, for
    a test to change: on SQLite a copy of one archive so made once per run (the whole archive
    is the folder), on PostgreSQL (a schema named after the folder) that ingest itself."""

    def copy(data_dir: Path, reports: list[Path]) -> Settings:
        if STORE != "sqlite":
            return archive_of(data_dir, reports)
        key = tuple(reports)
        if key not in _archive_templates:
            folder = tmp_path_factory.mktemp("archive-template")
            _archive_templates[key] = archive_of(folder, reports).data_dir
        shutil.copytree(_archive_templates[key], data_dir, dirs_exist_ok=True)
        return settings_for(data_dir)

    return copy


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data folder holding the sample archive, ingested once per run and shared read-only."""
    return archive_of(tmp_path_factory.mktemp("sample-archive"), [SAMPLE])


@pytest.fixture(scope="session")
def three_years_archive(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data folder holding REPORTS, ingested once per run and shared read-only."""
    return archive_of(tmp_path_factory.mktemp("three-years"), REPORTS)


AppClient = Callable[..., TestClient]


@pytest.fixture
def app_client() -> Iterator[AppClient]:
    """``app_client(settings, **options)``: a TestClient over ``create_app(settings)``, to use
    in a ``with`` block (which runs the app's startup and shutdown); closed after the test."""
    opened: list[TestClient] = []

    def open_client(settings: Settings, **options: Any) -> TestClient:
        opened.append(TestClient(create_app(settings), **options))
        return opened[-1]

    yield open_client
    for client in opened:
        client.close()


@pytest.fixture
def client(sample_settings: Settings, app_client: AppClient) -> Iterator[TestClient]:
    with app_client(sample_settings) as test_client:
        yield test_client


def graphql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL document and return the decoded response body."""
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, follow_redirects=False
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def post_graphql(
    port: int, query: str, *, accept_language: str | None = None, **variables: Any
) -> dict[str, Any]:
    """POST a GraphQL document to a server listening on 127.0.0.1:``port``; the decoded body.
    ``accept_language``: as a browser would send it (refusals come in Japanese for ``ja``)."""
    headers = {"content-type": "application/json"}
    if accept_language is not None:
        headers["accept-language"] = accept_language
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """No record with a traceback, none at ERROR: a client's mistake is no server problem."""
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``plan-archive`` process over the archive in ``data_dir``: this
    one's, its store on the suite's (``store_env``, SQLite in the folder by default), and
    ``extra`` on top."""
    return {**os.environ, "PLAN_ARCHIVE_DATABASE_URL": "", **store_env(data_dir), **extra}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment for ``CliRunner().invoke(cli, args, env=cli_env)`` over the archive in
    ``tmp_path/data``, its store on the suite's, run from ``tmp_path`` (no developer's .env)."""
    monkeypatch.chdir(tmp_path)
    return {"PLAN_ARCHIVE_DATABASE_URL": "", **store_env(tmp_path / "data")}


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``plan-archive ARGS`` run to its end in ``tmp_path``, over the archive in
    ``tmp_path/data`` (``env`` on top of ``process_env``), its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=tmp_path,
        env=process_env(tmp_path / "data", **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def _sample_cli_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A data folder holding the sample as ``plan-archive ingest`` leaves it, made once per
    run by a process of its own; None on PostgreSQL, where the store is not in the folder."""
    if STORE != "sqlite":
        return None
    folder = tmp_path_factory.mktemp("sample-cli-template")
    done = run_cli(folder, "ingest", str(SAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / "data"


@pytest.fixture
def sample_cli_data(tmp_path: Path, _sample_cli_template: Path | None) -> Path:
    """``tmp_path/data``, holding the sample as ``run_cli(tmp_path, "ingest", SAMPLE)`` leaves
    it, for a test to change: on SQLite a copy of one archive so made (the whole archive is
    the folder: store file and index), on PostgreSQL (a schema named after the folder) that
    ingest itself."""
    data = tmp_path / "data"
    if _sample_cli_template is not None:
        shutil.copytree(_sample_cli_template, data)
        return data
    done = run_cli(tmp_path, "ingest", str(SAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    return data


@contextmanager
def served(
    data_dir: Path, workers: int = 1, **extra: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str]]]:
    """``plan-archive serve --workers N`` over the archive in ``data_dir`` (``extra`` on top of
    its environment), once it answers ``/healthz``: yields the process, its port and its
    environment."""
    port = free_port()
    env = process_env(data_dir, **extra)
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(workers)],
        cwd=data_dir.parent,  # no developer's .env
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield server, port, env
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def serving(settings: Settings) -> Iterator[int]:
    """The real app on uvicorn in a background thread, on a free port; yields the port."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield int(port)
    finally:
        # Also on a start that timed out: a server still starting stops once it sees this.
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server thread did not stop within 30 s"
