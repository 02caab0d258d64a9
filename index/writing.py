"""Keeping the index in step with the store: apply pending work, rebuild, check, repair.

The store is the truth. Every change to it writes an entry of the index log (``IndexTask``)
in the same transaction, under the store's writer lock, so the log's ids increase in commit
order. Each index follows the log from its own position, kept in ``POSITION`` in its
generation folder and written only after the index committed (#19 point 1):
``apply_pending`` applies what follows it, so a crash between the two applies some entries
twice, which changes nothing (an entry means "take this document as the store has it
now"), and loses none. Several indexes (one per node, each in its own data folder) follow
the one log; it is trimmed only behind a retention window (``trim_index_log``), and an index
positioned below what was trimmed, or new, is built again from the store (``follow``).

The index is a Whoosh index, and it lives in generations: ``<root>/CURRENT`` names the
folder searches use (``whoosh.index.open_dir`` opens it). A rebuild writes a new folder
beside it and then switches ``CURRENT`` in one atomic rename, so searches keep working on
the old generation meanwhile. There is one writer at a time: Whoosh's write lock of the
current generation, taken with a timeout (``index/bulk.py``).

An archive indexed by an earlier plan-archive (numpy segment files, ``TOC-<n>.json``) is
*outdated*: nothing reads that format; ``rebuild`` replaces it from the store.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from whoosh.index import TOC, FileIndex, LockError
from whoosh.util.filelock import FileLock, try_for

from archive import faults, queries
from archive.errors import IndexProblem
from archive.models import IndexTask
from archive.queries import IndexRow
from index import derived
from index.bulk import INDEX_NAME, BulkWriter, DurableStorage, latest, sync_folder
from index.fields import SEPARATOR, entry, schema, version

CURRENT = "CURRENT"
POSITION = "POSITION"  # in a generation folder: the id of the last log entry it holds
WRITE_TIMEOUT = 30.0
LOG_RETENTION = 7 * 24 * 3600.0  # seconds the index log keeps an entry, by default
_BATCH = 200
_OLD_FORMAT = "TOC-"  # how the numpy segment format (0004) named its commits


class IndexBusy(IndexProblem, RuntimeError):
    """Another process holds the index's write lock; the work stays queued."""


class IndexDamaged(IndexProblem, RuntimeError):
    """The current generation cannot be read (a file is missing or broken): rebuild it."""


class IndexBehind(IndexProblem, RuntimeError):
    """The index's position is below what the store's log has trimmed: it missed changes,
    and only a rebuild from the store brings it back (``follow`` does)."""


class IndexOutdated(IndexProblem, RuntimeError):
    """The index was written by an earlier plan-archive in a format nothing reads now."""

    def __init__(self) -> None:
        super().__init__(
            "the search index is in the format of an earlier plan-archive; "
            "run 'plan-archive reindex' to rebuild it from the store"
        )


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
    pending: int  # entries of the store's index log this index has not applied
    damaged: bool = False  # the current generation could not be read at all

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.pending or self.damaged)


def current_dir(root: Path) -> Path | None:
    """The folder of the generation searches use, or None before the first build.

    Raises IndexOutdated when it holds an earlier plan-archive's format."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = root / name
    # Look for a commit's file name instead of opening the index: cheap on every search.
    if latest(folder) >= 0:
        return folder
    if _old_format(folder):
        raise IndexOutdated
    return None


def outdated(root: Path) -> bool:
    """Whether the current generation is in an earlier plan-archive's format (the numpy
    segments of 0004, or a Whoosh index of another schema)."""
    try:
        folder = current_dir(root)
    except IndexOutdated:
        return True
    if folder is None:
        return False
    try:
        read_toc(folder)
    except IndexOutdated:
        return True
    except (derived.Damaged, OSError):  # damaged, not outdated: check reports it
        return False
    return False


def read_toc(folder: Path, generation: int | None = None) -> TOC:
    """A commit's TOC (the newest by default): the schema and segments.

    FileNotFoundError when a newer commit has removed it; IndexOutdated when the folder holds
    an earlier plan-archive's Whoosh index (another schema, or one whose pickled analyzer no
    longer exists, and no derived arrays beside its segments); derived.Damaged otherwise.
    """
    storage = DurableStorage(str(folder))
    try:
        with storage.closing_on_failure():
            toc = TOC.read(storage, INDEX_NAME, gen=generation)
    except FileNotFoundError:
        raise
    except Exception as error:
        if not any(name.endswith(derived.SUFFIX) for name in os.listdir(folder)):
            raise IndexOutdated from None
        raise derived.Damaged(f"its table of contents cannot be read ({error})") from None
    if set(toc.schema.names()) != set(schema().names()):
        raise IndexOutdated
    return toc


def _old_format(folder: Path) -> bool:
    try:
        return any(name.startswith(_OLD_FORMAT) for name in os.listdir(folder))
    except OSError:
        return False


def open_index(folder: Path) -> FileIndex:
    """The Whoosh index in ``folder`` (its files synced when written, see DurableStorage)."""
    storage = DurableStorage(str(folder))
    with storage.closing_on_failure():  # Whoosh reads the TOC here, and may fail half-way
        return FileIndex(storage, indexname=INDEX_NAME)


def switch_to(root: Path, folder: Path) -> None:
    """Make ``folder`` current: ``CURRENT`` written beside, synced, renamed over, and the
    rename synced, so after a crash it names the old generation or the new one, whole."""
    temporary = root / f"{CURRENT}.{os.getpid()}.tmp"
    temporary.write_text(folder.name, encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, root / CURRENT)
    sync_folder(root)


def _new_generation(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"g{time.time_ns()}"
    folder.mkdir()
    sync_folder(root)
    FileIndex.create(DurableStorage(str(folder)), schema(), INDEX_NAME)
    return folder


def open_writer(folder: Path, timeout: float = WRITE_TIMEOUT) -> BulkWriter:
    """The writer of the index in ``folder``; IndexBusy if another holds the write lock for
    ``timeout`` seconds, IndexDamaged if the index cannot be read, OSError as it comes when
    the folder cannot be written (no room)."""
    try:
        return BulkWriter(open_index(folder), timeout)
    except LockError:
        waited = f"waited {timeout:g} s"
        raise IndexBusy(f"the index is locked by another writer ({waited})") from None
    except OSError as error:
        if isinstance(error, FileNotFoundError):
            raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
        raise
    except Exception as error:
        raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None


@contextmanager
def _writer(root: Path, timeout: float) -> Iterator[BulkWriter]:
    """The write lock of the current generation (made if there is none), held while inside."""
    while True:
        if outdated(root):
            raise IndexOutdated
        folder = current_dir(root)
        if folder is None:
            folder = _new_generation(root)
            switch_to(root, folder)
        writer = open_writer(folder, timeout)
        if current_dir(root) == folder:
            break
        writer.cancel()  # a rebuild switched generations while we waited: write to the new one
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while an index commit is built.

    A commit holds thousands of entries' values and lists of postings, and the collector's
    passes walk them again and again as they grow: 20% of a 30,000-entry commit, measured.
    What a commit allocates has no cycles and is freed by reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_position(folder: Path) -> int | None:
    """The id of the last log entry the generation in ``folder`` holds; None when it has no
    position (new, or written before the log had positions)."""
    try:
        return int((folder / POSITION).read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise IndexDamaged(f"{folder / POSITION} cannot be read ({error})") from None


def _write_position(folder: Path, position: int) -> None:
    """``POSITION`` written beside, synced and renamed over: whole, before or after."""
    temporary = folder / f"{POSITION}.{os.getpid()}.tmp"
    temporary.write_text(str(position), encoding="ascii")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, folder / POSITION)
    sync_folder(folder)


def position(root: Path) -> int | None:
    """The position of the generation searches use (None: not built, or no position)."""
    folder = current_dir(root)
    return None if folder is None else read_position(folder)


def apply_pending(
    sessions: sessionmaker[Session],
    root: Path,
    timeout: float = WRITE_TIMEOUT,
    retention: float | None = LOG_RETENTION,
) -> Applied:
    """Bring the index up to the store's log, in one index commit, then trim the log behind
    ``retention`` seconds (None: never). The log and the rows are read under the index's
    write lock, so two appliers of one index cannot write an older state over a newer one.

    A generation with no position is either new (no segments: every document is read,
    after the log's head, so nothing committed meanwhile is missed) or an index of before
    the log (its store's log still holds exactly what it had not applied: position 0).
    Raises IndexBehind when the log was trimmed past the index's position."""
    folder = current_dir(root)
    known = read_position(folder) if folder is not None else None
    if known is not None:
        with sessions() as db:
            in_step = queries.index_log_head(db) <= known
        if in_step:
            if retention is not None:
                trim(sessions, retention)
            return Applied(0, 0, 0)
    with _writer(root, timeout) as writer, _collector_paused():
        at = read_position(writer.folder)
        with sessions() as db:
            if at is None and not read_toc(writer.folder).segments:
                # New: every document, read after the log's head, so nothing committed
                # meanwhile is missed (it is applied again next time, harmlessly).
                target = queries.index_log_head(db)
                touched = queries.document_ids(db)
                count = len(touched)
            else:
                floor = queries.index_log_floor(db)
                at = at or 0
                if at < floor:
                    writer.cancel()
                    raise IndexBehind(
                        f"the index holds the store's changes up to {at}, and the store "
                        f"has forgotten those up to {floor}: it is rebuilt from the store"
                    )
                tasks = queries.index_log_after(db, at)
                target = tasks[-1].id if tasks else at
                touched = sorted({task.document_id for task in tasks})
                count = len(tasks)
            rows = queries.index_rows(db, touched)
        if not touched:  # nothing to write: another applier did it, or an empty store
            writer.cancel()
            if read_position(writer.folder) != target:
                _write_position(writer.folder, target)
            return Applied(0, 0, 0)
        writer.delete_documents(touched)
        for row in rows:
            writer.add(entry(row))
        faults.point("index-commit")
        writer.commit()
        faults.point("indexed")
        _write_position(writer.folder, target)
    if retention is not None:
        trim(sessions, retention)
    return Applied(count, len(touched), len(rows))


def trim(sessions: sessionmaker[Session], retention: float) -> int:
    """Trim the store's index log behind ``retention`` seconds; how many entries went. A
    read first: most calls find nothing that old, and write nothing."""
    before = datetime.now(UTC) - timedelta(seconds=retention)
    with sessions() as db:
        oldest = db.scalar(select(func.min(IndexTask.created_at)))
    if oldest is None or _aware(oldest) >= before:
        return 0
    with sessions() as db, db.begin():
        return queries.trim_index_log(db, before)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def follow(
    sessions: sessionmaker[Session],
    root: Path,
    timeout: float = WRITE_TIMEOUT,
    retention: float | None = LOG_RETENTION,
) -> Applied | Rebuilt | None:
    """Bring the index up to the store however far behind it is: apply the log, or rebuild
    when the log no longer reaches back to the index's position, or when the index is of an
    earlier format. None when there was nothing to do."""
    try:
        applied = apply_pending(sessions, root, timeout, retention)
        return applied if applied.tasks else None
    except IndexBehind:
        pass
    except IndexOutdated:
        return upgrade(sessions, root, timeout)
    with _rebuild_lock(root, timeout):
        try:  # another process may have rebuilt it while this one waited for the lock
            return apply_pending(sessions, root, timeout, retention)
        except IndexBehind:
            return _rebuild(sessions, root, timeout, None)


def lag(sessions: sessionmaker[Session], root: Path) -> tuple[int, float] | None:
    """How far the index is behind the store: log entries not applied, and the age in
    seconds of the oldest of them (0 when in step); None when the index has no position."""
    at = position(root)
    if at is None:
        return None
    with sessions() as db:
        count, oldest = queries.index_log_lag(db, at)
    return count, age_seconds(oldest)


def age_seconds(moment: datetime | None) -> float:
    """Seconds since ``moment`` (0 for None, or one in the future: another node's clock)."""
    if moment is None:
        return 0.0
    return max(0.0, (datetime.now(UTC) - _aware(moment)).total_seconds())


def rebuild(
    sessions: sessionmaker[Session],
    root: Path,
    timeout: float = WRITE_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
) -> Rebuilt:
    """Build a new generation from the whole store and switch searches to it when complete.

    ``progress(documents done, documents)`` is called as the store is read. One rebuild at
    a time (``REBUILD.lock`` beside ``CURRENT``): two would race to switch."""
    with _rebuild_lock(root, timeout):
        return _rebuild(sessions, root, timeout, progress)


def upgrade(
    sessions: sessionmaker[Session],
    root: Path,
    timeout: float = WRITE_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
) -> Rebuilt | None:
    """Rebuild an index of an earlier format (None if it is not, or no longer, outdated:
    another process may have rebuilt it while this one waited for the lock)."""
    with _rebuild_lock(root, timeout):
        if not outdated(root):
            return None
        return _rebuild(sessions, root, timeout, progress)


@contextmanager
def _rebuild_lock(root: Path, timeout: float) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / "REBUILD.lock"))
    if not try_for(lock.acquire, timeout=timeout, delay=0.05):
        raise IndexBusy(f"another process is rebuilding the index (waited {timeout:g} s)")
    try:
        yield
    finally:
        lock.release()


def _rebuild(
    sessions: sessionmaker[Session],
    root: Path,
    timeout: float,
    progress: Callable[[int, int], None] | None,
) -> Rebuilt:
    started = time.perf_counter()
    try:
        previous = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        previous = ""
    with contextlib.ExitStack() as stack:
        try:  # no other writer while we read the store
            lock = stack.enter_context(_writer(root, timeout))
            previous = lock.folder.name
        except (IndexDamaged, IndexOutdated):
            lock = None  # the generation is replaced as a whole: nothing to protect
        with sessions() as db:
            head = queries.index_log_head(db)  # first: rows read after it are newer
            ids = queries.document_ids(db)

            def rows() -> Iterator[IndexRow]:
                for start in range(0, len(ids), _BATCH):
                    yield from queries.index_rows(db, ids[start : start + _BATCH])
                    if progress is not None:
                        progress(min(start + _BATCH, len(ids)), len(ids))

            folder, count = build_generation(root, rows())
        _write_position(folder, head)
        switch_to(root, folder)
        if lock is not None:
            lock.cancel()
    _remove_old_generations(root, keep={folder.name, previous})
    return Rebuilt(len(ids), count, time.perf_counter() - started, folder.name)


def build_generation(root: Path, rows: Iterable[IndexRow]) -> tuple[Path, int]:
    """Write ``rows`` into a new generation folder (not yet current); returns it and the count."""
    folder = _new_generation(root)
    writer = open_writer(folder)
    count = 0
    try:
        with _collector_paused():
            for row in rows:
                writer.add(entry(row))
                count += 1
            writer.commit()
    except BaseException:
        writer.cancel()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, count


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    """Delete every generation but ``keep`` (the new one, and the one before it, which a
    searcher may still read): older ones, and any a killed rebuild left unfinished."""
    for folder in root.glob("g*"):
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _indexed(root: Path) -> dict[str, tuple[str, int]]:
    """Key -> (version, document id) of everything in the current generation, read through
    Whoosh, after each segment's files are found whole (sizes and CRC-32s as written) and
    its derived arrays agree with what Whoosh holds."""
    folder = current_dir(root)
    if folder is None:
        return {}
    for attempt in range(5):
        generation = latest(folder)
        try:
            return _read_entries(folder, generation)
        except FileNotFoundError as error:
            # Commits made while we read removed a segment we had not opened yet: read the
            # newest commit again. The same commit missing a file is damage.
            if latest(folder) == generation or attempt == 4:
                raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
        except IndexOutdated:
            raise
        except Exception as error:
            raise IndexDamaged(f"the index in {folder} cannot be read ({error})") from None
    raise AssertionError("unreachable")


def _read_entries(folder: Path, generation: int) -> dict[str, tuple[str, int]]:
    toc = read_toc(folder, generation)
    storage = DurableStorage(str(folder))
    indexed: dict[str, tuple[str, int]] = {}
    for segment in toc.segments:
        reader = storage.open_segment(toc.schema, segment)
        try:
            data = _verified(folder, reader)
            for number, stored in reader.iter_docs():
                if not _agree(data, number, stored):
                    raise derived.Damaged(
                        f"the derived arrays of {segment.segment_id()} disagree with Whoosh "
                        f"at entry {number}"
                    )
                indexed[stored["key"]] = (stored["version"], stored["document_id"])
        finally:
            reader.close()
    return indexed


def _verified(folder: Path, reader: Any) -> derived.SegmentData:
    """The segment's derived data, once its Whoosh files are found as they were written (by
    the fingerprints kept in the derived data, which is derived again from Whoosh, reading
    every posting, when it is missing or fails its checksum)."""
    segment_id = reader.segment().segment_id()
    try:
        data = derived.load(folder, segment_id, verify=True)
    except (FileNotFoundError, derived.Damaged):
        data = derived.build(reader, folder)
        derived.write(folder, segment_id, data)
    now = derived.fingerprint(folder, derived.segment_files(folder, segment_id))
    changed = sorted(n for n in set(now) | set(data.files) if now.get(n) != data.files.get(n))
    if changed:
        raise derived.Damaged(f"segment files changed since written: {', '.join(changed)}")
    return data


def _agree(data: derived.SegmentData, number: int, stored: dict[str, Any]) -> bool:
    """Whether the derived arrays hold what Whoosh stores for entry ``number``."""
    return (
        data.keys[number] == stored["key"]
        and int(data.document_id[number]) == stored["document_id"]
        and int(data.fiscal_year[number]) == stored["fiscal_year"]
        and data.text_of(number) == SEPARATOR.join(stored["normalized"].values())
    )


def _stored(db: Session) -> dict[str, tuple[str, int]]:
    ids = queries.document_ids(db)
    stored: dict[str, tuple[str, int]] = {}
    for start in range(0, len(ids), _BATCH):
        for row in queries.index_rows(db, ids[start : start + _BATCH]):
            stored[row.key] = (version(row), row.document_id)
    return stored


def check(sessions: sessionmaker[Session], root: Path) -> Checked:
    """Compare what the store holds with what the index holds, key by key. An outdated
    index counts as damaged: nothing of it can be used."""
    damaged = False
    try:
        indexed = _indexed(root)
    except (IndexDamaged, IndexOutdated):
        indexed, damaged = {}, True
    try:
        at = None if damaged else position(root)
    except IndexDamaged:
        at, damaged = None, True
    with sessions() as db:
        pending = queries.index_log_lag(db, at or 0)[0]
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
    follow(sessions, root, timeout)
    with _writer(root, timeout) as writer, _collector_paused():
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
