"""Keeping the index in step with the store: apply pending work, rebuild, check, repair.

The store is the truth. Every change to it writes an ``IndexTask`` in the same transaction;
``apply_pending`` applies the tasks to the index and forgets them only after the index has
committed, so a crash between the two is repaired by the next run, never lost.

The index lives in generations: ``<root>/CURRENT`` names the folder searches use. A rebuild
writes a new folder beside it and then switches ``CURRENT`` in one atomic rename, so
searches keep working on the old generation meanwhile. There is one writer at a time: the
write lock of the current generation (``index/segments.py``), taken with a timeout.
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

from sqlalchemy.orm import Session, sessionmaker

from archive import faults, queries
from archive.queries import IndexRow
from index import segments
from index.fields import entry, version

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
    # Look for a commit's file name instead of opening the index: cheap on every search.
    return folder if segments.latest(folder) >= 0 else None


def _switch(root: Path, folder: Path) -> None:
    temporary = root / f"{CURRENT}.{os.getpid()}.tmp"
    temporary.write_text(folder.name, encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, root / CURRENT)


def _new_generation(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"g{time.time_ns()}"
    segments.create(folder)
    return folder


@contextmanager
def _writer(root: Path, timeout: float) -> Iterator[segments.Writer]:
    """The write lock of the current generation (made if there is none), held while inside."""
    while True:
        folder = current_dir(root)
        if folder is None:
            folder = _new_generation(root)
            _switch(root, folder)
        try:
            writer = segments.Writer(folder, timeout)
        except segments.LockTimeout as busy:
            raise IndexBusy(str(busy)) from None
        except (segments.Damaged, FileNotFoundError) as error:
            raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
        if current_dir(root) == folder:
            break
        writer.cancel()  # a rebuild switched generations while we waited: write to the new one
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise


def apply_pending(
    sessions: sessionmaker[Session], root: Path, timeout: float = WRITE_TIMEOUT
) -> Applied:
    """Bring the index up to the store's queued changes, in one index commit. Tasks and rows
    are read under the index's write lock, so two appliers cannot write an older state over
    a newer one."""
    with sessions() as db:
        if not queries.pending_index_tasks(db):
            return Applied(0, 0, 0)
    with _writer(root, timeout) as writer:
        with sessions() as db:
            tasks = queries.pending_index_tasks(db)
            touched = sorted({task.document_id for task in tasks})
            rows = queries.index_rows(db, touched)
        if not tasks:  # another applier did the work while we waited
            writer.cancel()
            return Applied(0, 0, 0)
        writer.delete_documents(touched)
        for row in rows:
            writer.add(entry(row))
        faults.point("index-commit")
        writer.commit()
    faults.point("indexed")
    with sessions() as db, db.begin():
        queries.delete_index_tasks(db, tasks[-1].id)
    return Applied(len(tasks), len(touched), len(rows))


def rebuild(sessions: sessionmaker[Session], root: Path, timeout: float = WRITE_TIMEOUT) -> Rebuilt:
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
            folder, count = build_generation(root, rows)
        _switch(root, folder)
        if lock is not None:
            lock.cancel()
    if pending:
        with sessions() as db, db.begin():
            queries.delete_index_tasks(db, pending[-1].id)
    _remove_old_generations(root, keep={folder.name})
    return Rebuilt(len(ids), count, time.perf_counter() - started, folder.name)


def build_generation(root: Path, rows: Iterable[IndexRow]) -> tuple[Path, int]:
    """Write ``rows`` into a new generation folder (not yet current); returns it and the count."""
    folder = _new_generation(root)
    writer = segments.Writer(folder, WRITE_TIMEOUT)
    count = 0
    try:
        for row in rows:
            writer.add(entry(row))
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
        return {
            segment.keys[i]: (stored["version"], stored["document_id"])
            for segment in segments.committed_segments(folder)
            for i, stored in enumerate(segment.stored())
            if i not in segment.info.deleted
        }
    except (segments.Damaged, FileNotFoundError) as error:
        raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None


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
        writer.delete_documents(documents)
        for row in rows:
            writer.add(entry(row))
        writer.commit()
    return found
