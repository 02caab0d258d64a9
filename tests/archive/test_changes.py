"""The change feed in the store, on both stores: what each ingest and deletion records, and
a reader that follows it while several writers commit (#15 point 5)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from archive import db
from archive.db import reader, writer
from archive.errors import DocumentRefused
from archive.ingest import delete_document, prepare_document, store_document
from archive.models import Change, Measure
from archive.queries import changes_after
from tests import variants


def _ingest(engine: Engine, data: bytes) -> int:
    with writer(engine)() as session, session.begin():
        return store_document(session, prepare_document(data, "report.txt")).document_id


def _feed(engine: Engine, after: int = 0) -> list[Change]:
    with reader(engine)() as session:
        return changes_after(session, after, 1000)


def test_each_write_records_one_change(
    engine: Engine, sample_bytes: bytes, sample_text: str
) -> None:
    document_id = _ingest(engine, sample_bytes)
    with reader(engine)() as session:
        ids = dict(session.execute(select(Measure.number, Measure.id)).all())
    _ingest(engine, sample_bytes)  # the same bytes: unchanged, nothing to record
    _ingest(engine, variants.added_measure(variants.dropped_measure(sample_text).decode()))
    with reader(engine)() as session:
        after = dict(session.execute(select(Measure.number, Measure.id)).all())
    with pytest.raises(DocumentRefused):  # refused after reading the store: nothing recorded
        _ingest(engine, " 日立市情報化推進アクションプラン 概要版 \n令和２年度の取組。\n".encode())
    with writer(engine)() as session, session.begin():
        delete_document(session, document_id)
    stored, replaced, deleted = _feed(engine)
    assert [c.kind for c in (stored, replaced, deleted)] == ["stored", "replaced", "deleted"]
    assert {c.document_id for c in (stored, replaced, deleted)} == {document_id}
    assert stored.measures["added"] == [[i, n] for n, i in sorted(ids.items())]
    assert replaced.measures["removed"] == [[ids["05"], "05"]]
    new = sorted(set(after) - set(ids))
    assert replaced.measures["added"] == [[after[n], n] for n in new]
    assert {n for _, n in replaced.measures["updated"]} <= set(ids) - {"05"}
    assert deleted.measures == {
        "added": [],
        "updated": [],
        "removed": [[i, n] for n, i in sorted(after.items())],
    }
    assert stored.id < replaced.id < deleted.id


def _other_engine(engine: Engine) -> Engine:
    """A second engine on the same store, as another process would open it."""
    url = engine.url.render_as_string(hide_password=False)
    connect_args = {}
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            path = connection.exec_driver_sql("SHOW search_path").scalar()
        connect_args = {"options": f"-csearch_path={path}"}
    return db.create_store_engine(url, connect_args=connect_args)


def test_a_follower_sees_every_change_once_while_writers_commit(
    engine: Engine, sample_text: str
) -> None:
    """Three writers (each its own engine, as separate processes) store, replace and delete
    reports while a follower polls the feed with the cursor it keeps: at the end it has seen
    every change in the store exactly once, in order, none skipped."""
    writers, reports = 3, 6
    done = threading.Event()
    errors: list[BaseException] = []

    def write(number: int) -> None:
        other = _other_engine(engine)
        try:
            for report in range(reports):
                city = number * 100 + report
                data = variants.other_city(sample_text, city)
                document_id = _ingest(other, data)
                if report % 2:  # a correction: replaced in place
                    _ingest(
                        other,
                        variants.other_city(variants.dropped_measure(sample_text).decode(), city),
                    )
                if report % 3 == 2:
                    with writer(other)() as session, session.begin():
                        delete_document(session, document_id)
        except BaseException as error:
            errors.append(error)
        finally:
            other.dispose()

    seen: list[int] = []

    def follow() -> None:
        follower = _other_engine(engine)
        cursor = 0
        try:
            while True:
                finished = done.is_set()  # read before the poll: one more poll after the end
                with reader(follower)() as session:
                    page = [c.id for c in changes_after(session, cursor, 5)]
                seen.extend(page)
                cursor = page[-1] if page else cursor
                if finished and not page:
                    return
        except BaseException as error:
            errors.append(error)
        finally:
            follower.dispose()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, writers + 1)]
    follower = threading.Thread(target=follow)
    follower.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    follower.join(timeout=60)
    assert not errors, errors
    everything = [c.id for c in _feed(engine)]
    per_writer = reports + reports // 2 + reports // 3
    assert len(everything) == writers * per_writer
    assert seen == everything  # each once, in order: nothing skipped, nothing twice
    assert seen == sorted(set(seen))
