"""Keeping the index in step with the store: apply pending work, rebuild, check, repair.

The store is the truth. Every change to it writes an ``IndexTask`` in the same transaction;
``apply_pending`` applies the tasks to the index and forgets them only after the index has
committed, so a crash between the two is repaired by the next run, never lost.

The index lives in generations: ``<root>/CURRENT`` names the folder searches use. A rebuild
writes a new folder beside it and then switches ``CURRENT`` in one atomic rename, so
searches keep working on the old generation meanwhile. There is one writer at a time: the
Whoosh write lock of the current generation, taken with a timeout (never Whoosh's default of
0, which fails at once), and never AsyncWriter or BufferedWriter, which would acknowledge work
before it is on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from whoosh import index as whoosh_index
from whoosh.index import LockError

from archive import faults, queries
from archive.queries import IndexRow
from index.fields import schema, version, whoosh_document

CURRENT = "CURRENT"
WRITE_TIMEOUT = 30.0
_BATCH = 200


class IndexBusy(RuntimeError):
    """Another process holds the index's write lock; the work stays queued."""


class IndexDamaged(RuntimeError):
    """The current generation cannot be read (a file is missing or broken): rebuild it."""


@dataclass(frozen=True)
class Applied:
    tasks: int
    documents: int
    rows: int


@dataclass(frozen=True)
class Rebuilt:
    documents: int
    rows: int
    seconds: float
    generation: str


@dataclass(frozen=True)
class Checked:
    missing: list[str]  # keys in the store but not in the index
    stale: list[str]  # keys whose indexed content differs from the store
    extra: list[str]  # keys in the index that the store no longer has
    pending: int  # index tasks not yet applied
    damaged: bool = False  # the current generation could not be read at all

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.pending or self.damaged)


def current_dir(root: Path) -> Path | None:
    """The folder of the generation searches use, or None before the first build."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = root / name
    # Look for a TOC file instead of opening the index: a commit deletes the previous TOC,
    # so opening here would race every ingest.
    try:
        committed = any(n.startswith("_MAIN_") and n.endswith(".toc") for n in os.listdir(folder))
    except OSError:
        return None
    return folder if committed else None


def _switch(root: Path, folder: Path) -> None:
    temporary = root / f"{CURRENT}.{os.getpid()}.tmp"
    temporary.write_text(folder.name, encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, root / CURRENT)


def _new_generation(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"g{time.time_ns()}"
    folder.mkdir()
    whoosh_index.create_in(str(folder), schema())
    return folder


@contextmanager
def _writer(root: Path, timeout: float, procs: int = 1) -> Iterator[Any]:
    """The write lock of the current generation (made if there is none), held while inside.

    With ``procs`` above 1, documents are analysed and written by that many processes, each
    into a segment of its own (Whoosh merges small segments at later commits).
    """
    while True:
        folder = current_dir(root)
        if folder is None:
            folder = _new_generation(root)
            _switch(root, folder)
        try:
            options: dict[str, Any] = {"procs": procs, "multisegment": True} if procs > 1 else {}
            writer = whoosh_index.open_dir(str(folder)).writer(timeout=timeout, **options)
        except LockError:
            raise IndexBusy(
                f"the index is locked by another writer (waited {timeout:g} s)"
            ) from None
        except Exception as error:  # a missing or broken file in the generation
            raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
        if current_dir(root) == folder:
            break
        writer.cancel()  # a rebuild switched generations while we waited: write to the new one
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise


# Below this many reports in one commit a second process costs more than it saves.
PARALLEL_DOCUMENTS = 20


def apply_pending(
    sessions: sessionmaker[Session], root: Path, timeout: float = WRITE_TIMEOUT, procs: int = 1
) -> Applied:
    """Bring the index up to the store's queued changes, in one index commit; a batch of
    many reports is written by up to ``procs`` processes. Tasks and rows are read under the
    index's write lock, so two appliers cannot write an older state over a newer one."""
    with sessions() as db:
        waiting = {task.document_id for task in queries.pending_index_tasks(db)}
    if not waiting:
        return Applied(0, 0, 0)
    procs = procs if len(waiting) >= PARALLEL_DOCUMENTS else 1
    with _writer(root, timeout, procs) as writer:
        with sessions() as db:
            tasks = queries.pending_index_tasks(db)
            touched = sorted({task.document_id for task in tasks})
            rows = queries.index_rows(db, touched)
        if not tasks:  # another applier did the work while we waited
            writer.cancel()
            return Applied(0, 0, 0)
        _delete_documents(writer, touched)
        for row in rows:
            writer.add_document(**whoosh_document(row))
        faults.point("index-commit")
        writer.commit()
    faults.point("indexed")
    with sessions() as db, db.begin():
        queries.delete_index_tasks(db, tasks[-1].id)
    return Applied(len(tasks), len(touched), len(rows))


def _delete_documents(writer: Any, document_ids: Iterable[int]) -> None:
    """Delete every entry of these documents, through a searcher closed right after.

    Without one, Whoosh's writer opens a reader of its own that sits in a reference cycle:
    its file handles stay open until the garbage collector runs, so a server that ingests
    often piles up handles to deleted segment files.
    """
    with writer.searcher(closereader=True) as searcher:
        for document_id in document_ids:
            writer.delete_by_term("document", str(document_id), searcher=searcher)


def rebuild(
    sessions: sessionmaker[Session], root: Path, timeout: float = WRITE_TIMEOUT, procs: int = 1
) -> Rebuilt:
    """Build a new generation from the whole store and switch searches to it when complete."""
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        try:  # no other writer while we read the store
            lock = stack.enter_context(_writer(root, timeout))
        except IndexDamaged:
            lock = None  # the damaged generation is replaced as a whole: nothing to protect
        with sessions() as db:
            pending = queries.pending_index_tasks(db)
            ids = queries.document_ids(db)
            rows = (
                row
                for start in range(0, len(ids), _BATCH)
                for row in queries.index_rows(db, ids[start : start + _BATCH])
            )
            folder, count = build_generation(root, rows, procs)
        _switch(root, folder)
        if lock is not None:
            lock.cancel()
    if pending:
        with sessions() as db, db.begin():
            queries.delete_index_tasks(db, pending[-1].id)
    _remove_old_generations(root, keep={folder.name})
    return Rebuilt(len(ids), count, time.perf_counter() - started, folder.name)


def build_generation(root: Path, rows: Iterable[IndexRow], procs: int = 1) -> tuple[Path, int]:
    """Write ``rows`` into a new generation folder (not yet current); returns it and the count.
    With ``procs`` above 1, that many processes write a segment each."""
    folder = _new_generation(root)
    options: dict[str, Any] = {"procs": procs, "multisegment": True} if procs > 1 else {}
    writer = whoosh_index.open_dir(str(folder)).writer(
        timeout=WRITE_TIMEOUT, limitmb=256, **options
    )
    count = 0
    try:
        for row in rows:
            writer.add_document(**whoosh_document(row))
            count += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, count


def switch_to(root: Path, folder: Path) -> None:
    """Make ``folder`` the generation searches use."""
    _switch(root, folder)


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    """Delete generations older than the one before ``keep``: a searcher may still read that."""
    generations = sorted(p for p in root.glob("g*") if p.is_dir())
    newest = sorted(keep)[-1]
    older = [p for p in generations if p.name < newest]
    for folder in older[:-1]:
        shutil.rmtree(folder, ignore_errors=True)


def _indexed(root: Path) -> dict[str, tuple[str, int]]:
    """Key -> (version, document id) of everything in the current generation."""
    folder = current_dir(root)
    if folder is None:
        return {}
    try:
        searcher = whoosh_index.open_dir(str(folder)).searcher()
    except Exception as error:  # a missing or broken file in the generation
        raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
    with searcher:
        return {
            fields["key"]: (fields["data"]["version"], fields["data"]["document_id"])
            for _, fields in searcher.reader().iter_docs()
        }


def _stored(db: Session) -> dict[str, tuple[str, int]]:
    ids = queries.document_ids(db)
    stored: dict[str, tuple[str, int]] = {}
    for start in range(0, len(ids), _BATCH):
        for row in queries.index_rows(db, ids[start : start + _BATCH]):
            stored[row.key] = (version(row), row.document_id)
    return stored


def check(sessions: sessionmaker[Session], root: Path) -> Checked:
    """Compare what the store holds with what the index holds, key by key."""
    damaged = False
    try:
        indexed = _indexed(root)
    except IndexDamaged:
        indexed, damaged = {}, True
    with sessions() as db:
        pending = len(queries.pending_index_tasks(db))
        stored = _stored(db)
    return Checked(
        missing=sorted(k for k in stored if k not in indexed),
        stale=sorted(k for k in stored if k in indexed and indexed[k][0] != stored[k][0]),
        extra=sorted(k for k in indexed if k not in stored),
        pending=pending,
        damaged=damaged,
    )


def repair(sessions: sessionmaker[Session], root: Path, timeout: float = WRITE_TIMEOUT) -> Checked:
    """Apply pending work, then re-index every document with a missing, stale or extra key.

    Returns what was found before repairing."""
    found = check(sessions, root)
    if found.damaged:
        rebuild(sessions, root, timeout)
        return found
    apply_pending(sessions, root, timeout)
    with _writer(root, timeout) as writer:
        indexed = _indexed(root)
        with sessions() as db:
            stored = _stored(db)
            flagged = [
                k
                for k in set(stored) | set(indexed)
                if k not in indexed or k not in stored or indexed[k][0] != stored[k][0]
            ]
            documents = sorted({(stored.get(k) or indexed[k])[1] for k in flagged})
            rows = queries.index_rows(db, documents)
        if not documents:
            writer.cancel()
            return found
        _delete_documents(writer, documents)
        for row in rows:
            writer.add_document(**whoosh_document(row))
        writer.commit()
    return found
