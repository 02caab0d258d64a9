"""A real store and a real index in a temp folder, filled through the real ingest path."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from whoosh.writing import SegmentWriter

from archive import db
from archive.ingest import IngestResult, prepare_document, store_document
from index.search import Searcher
from index.writing import apply_pending
from tests.conftest import store_env


@dataclass
class Archive:
    engine: Engine
    index_dir: Path

    @property
    def reader(self) -> sessionmaker[Session]:
        return db.reader(self.engine)

    def store(self, data: bytes, name: str = "r.txt", **options: Any) -> IngestResult:
        """Write to the store only, as a process that dies before the index would."""
        prepared = prepare_document(data, name, **options)
        with db.writer(self.engine)() as session, session.begin():
            return store_document(session, prepared)

    def ingest(self, data: bytes, name: str = "r.txt", **options: Any) -> IngestResult:
        result = self.store(data, name, **options)
        apply_pending(self.reader, self.index_dir)
        return result

    def searcher(self) -> Searcher:
        return Searcher(self.index_dir)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    url = store_env(tmp_path).get("PLAN_ARCHIVE_DATABASE_URL")
    engine = db.create_store_engine(url or f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    db.upgrade(engine)
    yield Archive(engine, tmp_path / "index")
    engine.dispose()


def delete_keys(writer: SegmentWriter, keys: Iterable[str]) -> None:
    """Delete the entries of these keys the way Whoosh deletes: by document number."""
    wanted = set(keys)
    with writer.reader() as reader:
        for docnum, stored in reader.iter_docs():
            if stored["key"] in wanted:
                writer.delete_document(docnum)
