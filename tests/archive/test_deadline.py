"""A request's deadline stops its store statements, on both stores (``limit_session``)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from archive.db import StoreTimeout, limit_session, reader, store_problem

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
