"""Opening the relational store: engines, sessions, and Alembic migrations.

SQLite is the embedded default and gets three settings here. WAL, so that readers keep
reading while an ingest writes. Foreign keys on, so deletes cascade. And write transactions
that begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails
with "database is locked" at once when another writer got there first, whatever the busy
timeout, while an immediate one waits for the lock up front.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, TextClause, create_engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

from archive.errors import ArchiveError, StoreProblem

MIGRATIONS = Path(__file__).parent / "migrations"
_BEGIN = "plan_archive_begin"
_DEADLINE = "plan_archive_deadline"  # an execution option: time.monotonic() of the end
_TIMEOUT_SET = "plan_archive_timeout_set"  # in a PostgreSQL connection's info: ms


# The key of the PostgreSQL advisory lock every write transaction holds: one writer at a time,
# as SQLite's write lock gives. Any constant that no other program on the database uses.
WRITER_LOCK_KEY = 0x706C616E  # "plan"


class StoreBusy(StoreProblem, RuntimeError):
    """Another writer held the archive longer than the lock timeout."""

    code = "STORE_BUSY"


class StoreTimeout(StoreProblem, RuntimeError):
    """A statement ran longer than the statement timeout."""

    code = "STORE_TIMEOUT"


class StoreFull(StoreProblem, RuntimeError):
    """The disk (or a file-size limit) left no room to write."""

    code = "STORE_FULL"


def create_store_engine(
    url: str, *, statement_timeout: float = 30.0, lock_timeout: float = 30.0, **kwargs: Any
) -> Engine:
    """An engine for ``url``. SQLite files get WAL, foreign keys, controllable BEGIN and
    a busy timeout of ``lock_timeout``. PostgreSQL connections get ``statement_timeout`` and
    ``lock_timeout``, and write transactions the writer's advisory lock."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", lock_timeout)
        engine = create_engine(url, **kwargs)

        busy_ms = int(lock_timeout * 1000)

        def connect(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_connect(dbapi_connection, busy_ms)

        def checkin(dbapi_connection: Any, _record: Any) -> None:
            # A request's deadline (``limit_session``) ends with its use of the connection.
            if dbapi_connection is not None:  # None when the connection was invalidated
                dbapi_connection.set_progress_handler(None, 0)
                dbapi_connection.execute(f"PRAGMA busy_timeout={busy_ms}")

        event.listen(engine, "connect", connect)
        event.listen(engine, "begin", functools.partial(_sqlite_begin, busy_ms=busy_ms))
        event.listen(engine, "checkin", checkin)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.name == "postgresql":

        def settings(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(statement_timeout * 1000)}")
                cursor.execute(f"SET lock_timeout = {int(lock_timeout * 1000)}")
            dbapi_connection.autocommit = autocommit

        event.listen(engine, "connect", settings)
        limits = {
            "statement_ms": int(statement_timeout * 1000),
            "lock_ms": int(lock_timeout * 1000),
        }
        event.listen(engine, "begin", functools.partial(_postgresql_begin, **limits))
        event.listen(
            engine,
            "before_cursor_execute",
            functools.partial(_postgresql_clock, statement_ms=limits["statement_ms"]),
        )
    return engine


def _sqlite_connect(dbapi_connection: Any, busy_ms: int) -> None:
    # Take transaction control away from the sqlite3 module, so "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def _postgresql_begin(connection: Any, *, statement_ms: int, lock_ms: int) -> None:
    deadline = connection.get_execution_options().get(_DEADLINE)
    if deadline is not None:  # the writer's lock is waited for within the deadline too
        left = _milliseconds_left(deadline)
        if left < statement_ms:
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {left}")
        if left < lock_ms:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {left}")
        connection.info[_TIMEOUT_SET] = min(left, statement_ms)
    if connection.get_execution_options().get(_BEGIN) == "IMMEDIATE":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")


def _postgresql_clock(
    connection: Any,
    cursor: Any,
    _statement: Any,
    _parameters: Any,
    _context: Any,
    _many: bool,
    *,
    statement_ms: int,
) -> None:
    """Before each statement of a session with a deadline: past it, refuse; and when the
    transaction's statement_timeout (set at its start) runs past the deadline by more than
    half a second, shorten it to what is left, so several statements together stop there."""
    deadline = connection.get_execution_options().get(_DEADLINE)
    if deadline is None:
        return
    left = _milliseconds_left(deadline)
    if left <= 1:
        raise StoreTimeout("the store took too long to answer (statement timeout)")
    if connection.info.get(_TIMEOUT_SET, statement_ms) - left > 500:
        cursor.execute(f"SET LOCAL statement_timeout = {left}")
        connection.info[_TIMEOUT_SET] = left


def _milliseconds_left(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))


def store_problem(error: BaseException) -> StoreProblem | None:
    """A clear one-line error for a store that was busy or slow, or None for anything else."""
    original = getattr(error, "orig", None) or error
    if isinstance(original, ArchiveError):  # known already for what it is
        return original if isinstance(original, StoreProblem) else None
    name = type(original).__name__
    text_ = str(original).lower()
    if name == "LockNotAvailable" or "database is locked" in text_:
        return StoreBusy("another writer holds the archive; try again when it is done")
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # every pooled connection in use
        return StoreBusy("every store connection is in use; try again shortly")
    if name == "QueryCanceled" or "statement timeout" in text_ or text_ == "interrupted":
        return StoreTimeout("the store took too long to answer (statement timeout)")
    if name == "DiskFull" or any(
        words in text_ for words in ("disk is full", "no space left", "disk i/o error")
    ):
        return StoreFull("the store's disk could not be written (full, or failing)")
    return None


def _sqlite_begin(connection: Any, *, busy_ms: int) -> None:
    options = connection.get_execution_options()
    deadline = options.get(_DEADLINE)
    if deadline is not None:  # cleared when the connection goes back to the pool
        raw = connection.connection.dbapi_connection
        raw.execute(f"PRAGMA busy_timeout={min(busy_ms, _milliseconds_left(deadline))}")
        raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    connection.exec_driver_sql(f"BEGIN {options.get(_BEGIN, 'DEFERRED')}")


def limit_session(session: Session, deadline: float) -> Session:
    """Make the store work of ``session`` stop at ``deadline`` (``time.monotonic()``), waiting
    for the writer's lock included. On SQLite a progress handler interrupts a statement past
    it and the busy timeout is what is left; on PostgreSQL the transaction's
    ``statement_timeout`` and ``lock_timeout`` are what is left, shortened again before each
    statement. Past the deadline a statement fails as a statement timeout would
    (``store_problem`` calls it one), so a request that ran out of time stops its store work
    instead of finishing it for nobody. Call it before the session's first statement."""
    session.bind = session.get_bind().execution_options(**{_DEADLINE: deadline})
    return session


def reader(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading: one transaction per request, which sees one snapshot of the
    archive from its first statement on (SQLite's deferred BEGIN in WAL mode; PostgreSQL's
    REPEATABLE READ), so a request during an ingest sees the archive before it or after it,
    never between."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
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
    if state.is_insert or state.is_update or state.is_delete or _writes(state.statement):
        state.session.info[_WROTE] = True


def _writes(statement: Any) -> bool:
    """Whether a textual statement may write: anything but a plain read counts."""
    if not isinstance(statement, TextClause):
        return False
    return not statement.text.lstrip().upper().startswith(("SELECT", "WITH", "SHOW", "PRAGMA"))


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
    """Bring the store's schema to the newest migration (creating it on an empty database).

    The migration is a write transaction like any other: on SQLite it takes the write lock
    as it begins, on PostgreSQL the writer's advisory lock, so two processes opening a new
    store at once take turns (the second finds it current) instead of one failing with
    "database is locked".
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.execution_options(**{_BEGIN: "IMMEDIATE"}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the store is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
