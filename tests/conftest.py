"""Shared fixtures: the bundled sample, stores on real SQLite (and PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from archive import db
from archive.parse import ParsedReport, parse_report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample" / "hitachi-action-plan-fy2020.txt"
PG_URL = os.environ.get("PLAN_ARCHIVE_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PLAN_ARCHIVE_TEST_DATABASE_URL is not set; set it to a PostgreSQL URL "
    "(postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests"
)


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
