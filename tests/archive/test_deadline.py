"""A request's deadline stops its store statements, on both stores (``limit_session``)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from archive.db import StoreBusy, StoreTimeout, limit_session, reader, store_problem, writer

# A statement that runs for minutes on either store: it counts to a billion.
_ENDLESS = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)


def test_a_statement_past_the_deadline_stops_as_a_timeout(engine: Engine) -> None:
    with limit_session(reader(engine)(), time.monotonic() + 0.3) as db:
        started = time.monotonic()
        with pytest.raises(OperationalError) as stopped:
            db.execute(_ENDLESS)
        assert time.monotonic() - started < 3
    assert isinstance(store_problem(stopped.value), StoreTimeout)


def test_the_deadline_leaves_with_the_session(engine: Engine) -> None:
    """The next user of the pooled connection has no deadline of an earlier request."""
    with limit_session(reader(engine)(), time.monotonic() + 0.05) as db:
        db.execute(text("SELECT 1"))
    time.sleep(0.1)
    with reader(engine)() as db:
        short = text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 300000) SELECT count(*) FROM n"
        )
        assert db.execute(short).scalar() == 300000


def test_statements_that_each_fit_stop_together_at_the_deadline(engine: Engine) -> None:
    """Each statement starts with time left, but not with the whole request's time again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's progress handler reads the clock itself (the test above)")
    sleep = text("SELECT pg_sleep(0.6)")
    with limit_session(reader(engine)(), time.monotonic() + 1.0) as db:
        started = time.monotonic()
        db.execute(sleep)
        with pytest.raises((OperationalError, StoreTimeout)) as stopped:
            db.execute(sleep)
        assert time.monotonic() - started < 1.5
    assert isinstance(store_problem(stopped.value), StoreTimeout)


def test_waiting_for_the_writer_lock_stops_at_the_deadline(engine: Engine) -> None:
    """Another writer holds the archive (its lock waits 30 s by default): a request with a
    deadline gives up at its deadline."""
    sessions = writer(engine)
    with sessions() as holder, holder.begin():
        holder.execute(text("SELECT 1"))  # the writer's lock, held until the block ends
        started = time.monotonic()
        late = limit_session(sessions(), time.monotonic() + 0.5)
        with pytest.raises(OperationalError) as refused, late.begin():
            late.execute(text("SELECT 1"))
        late.close()
        assert time.monotonic() - started < 3
    assert isinstance(store_problem(refused.value), StoreBusy | StoreTimeout)
