"""Opening the relational store: engines, sessions, and Alembic migrations.

SQLite is the embedded default and gets three settings here. WAL, so that readers keep
reading while an ingest writes. Foreign keys on, so deletes cascade. And write transactions
that begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails
with "database is locked" at once when another writer got there first, whatever the busy
timeout, while an immediate one waits for the lock up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
_BEGIN = "plan_archive_begin"


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and controllable BEGIN."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module, so "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def reader(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading: one transaction per request."""
    return sessionmaker(engine, expire_on_commit=False)


def writer(engine: Engine) -> sessionmaker[Session]:
    """Sessions for writing: on SQLite each transaction takes the write lock when it begins.

    A commit that changed anything also advances the data version (``archive_state``) in
    the same transaction, so readers that key a cache on it see each change as a new
    version, and a transaction that changed nothing leaves the store as it was.
    """
    sessions = sessionmaker(
        engine.execution_options(**{_BEGIN: "IMMEDIATE"}), expire_on_commit=False
    )
    event.listen(sessions, "do_orm_execute", _note_statement)
    event.listen(sessions, "before_commit", _advance_version)
    event.listen(sessions, "after_flush", _note_flush)
    event.listen(sessions, "after_transaction_end", _forget_writes)
    return sessions


_WROTE = "plan_archive_wrote"


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _advance_version(session: Session) -> None:
    session.flush()
    if session.info.pop(_WROTE, False) or _flushed(session):
        session.execute(text("UPDATE archive_state SET version = version + 1 WHERE id = 1"))


def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)
        session.info.pop(_FLUSHED, None)


_FLUSHED = "plan_archive_flushed"


def _flushed(session: Session) -> bool:
    return bool(session.info.pop(_FLUSHED, False))


def _note_flush(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (creating it on an empty database)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the store is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
