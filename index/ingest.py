"""Ingesting files into the store and the search index: the one engine behind
``plan-archive ingest`` and the ``ingestDocument`` mutation.

A file is prepared (``archive.ingest.prepare_document``: text, PDF or spreadsheet), stored
with others in one transaction (``store_batch``), and the index then follows the store's log
(``follow_index``). ``Ingest.run`` does all three over many files and yields one ``Filed`` per
file, in input order, once its batch is committed, and an ``IndexNote`` when the index could
not follow; the caller prints or counts them. ``archive.ingest`` is one file into the store;
this module is the run around it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from archive import faults
from archive.db import reader, store_problem, writer
from archive.errors import DocumentRefused, first_line
from archive.ingest import IngestResult, PreparedDocument, prepare_document, store_document
from archive.pdf import PdfLimits
from archive.sheets import SheetMapping
from index.writing import IndexBusy, IndexDamaged, IndexOutdated, follow

_log = logging.getLogger("plan_archive.ingest")


@dataclass(frozen=True)
class Filed:
    """What became of one file: its ``result`` when stored, else the ``reason`` it was not,
    with ``failed`` when the fault is the archive's (the store, a bug), not the file's."""

    source: str
    result: IngestResult | None = None
    reason: str = ""
    failed: bool = False
    error: Exception | None = None  # what refused or failed it, for --debug

    @property
    def outcome(self) -> str:
        """For the metrics: ``archive.ingest.Outcome``'s name, "refused" or "failed"."""
        if self.result is not None:
            return self.result.outcome.name.lower()
        return "failed" if self.failed else "refused"

    @property
    def measure_count(self) -> int:
        return self.result.measure_count if self.result is not None else 0

    def describe(self) -> str:
        return self.result.describe() if self.result is not None else f"refused: {self.reason}"


def file_outcome(source: str, stored: IngestResult | Exception) -> Filed:
    """The outcome of a file from what storing it returned, or the error that kept it out."""
    if isinstance(stored, IngestResult):
        return Filed(source, stored)
    if isinstance(stored, DocumentRefused):
        return Filed(source, reason=stored.reason, error=stored)
    trouble = store_problem(stored)
    if trouble is not None:
        reason = f"{trouble}; nothing stored"
    elif isinstance(stored, SQLAlchemyError):
        reason = f"the store did not accept it ({first_line(stored)}); nothing stored"
    else:
        reason = f"internal error ({type(stored).__name__}); nothing stored"
    return Filed(source, reason=reason, failed=True, error=stored)


class IndexNote(str):
    """Why the index did not follow the store (``"; search index not updated yet ..."``)."""


def store_batch(
    sessions: Callable[[], Session], items: list[PreparedDocument]
) -> list[IngestResult | Exception]:
    """Store ``items`` in one transaction, each in a savepoint: a file the store refuses (or
    that fails) is rolled back alone and its exception returned in its place. An error of the
    transaction itself (the lock, a timeout, the disk, the commit) is raised: then nothing of
    the batch is stored."""
    outcomes: list[IngestResult | Exception] = []
    with sessions() as db, db.begin():
        for prepared in items:
            try:
                with db.begin_nested():
                    outcomes.append(store_document(db, prepared))
            except Exception as error:
                # SQLite rolls a whole transaction back on some errors (a full disk), and the
                # savepoint's own rollback then fails: the first error is the one to report.
                first: BaseException = error
                lost = "no such savepoint" in str(error) and error.__context__ is not None
                if lost and error.__context__ is not None:
                    first = error.__context__
                if lost or not db.in_transaction() or store_problem(first) is not None:
                    raise first from None
                _log.debug("store failed", exc_info=True)
                outcomes.append(error)
    return outcomes


def store_one(sessions: Callable[[], Session], source: str, prepared: PreparedDocument) -> Filed:
    """One prepared file in a transaction of its own (an upload), and its outcome."""
    try:
        [stored] = store_batch(sessions, [prepared])
    except Exception as error:  # the transaction itself failed
        stored = error
    return file_outcome(source, stored)


def follow_index(
    sessions: sessionmaker[Session],
    index_dir: Path,
    retention: float | None,
    repeat: bool = False,
) -> IndexNote:
    """Bring the index up to the store's log (rebuilding it when the log no longer reaches
    back to it); an empty note, or why it could not. With ``repeat``, again as long as more
    was logged meanwhile (an ingest storing batches)."""
    try:
        while follow(sessions, index_dir, retention=retention) is not None and repeat:
            pass
    except (IndexBusy, IndexDamaged, IndexOutdated) as problem:
        return IndexNote(
            f"; search index not updated yet ({problem}); run 'plan-archive check --repair'"
        )
    except OSError as error:  # no room for the index's files, most likely
        return IndexNote(
            f"; search index not updated yet ({error.strerror or error}); "
            "run 'plan-archive check --repair' when there is room"
        )
    return IndexNote("")


def files(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Each file to ingest, or a path with the reason it cannot be (an unreadable folder, a
    broken link, an empty folder): nothing is skipped without a line."""
    for path in paths:
        if not path.is_dir():
            yield path, None  # a missing or unreadable file is refused when it is read
            continue
        found = False
        errors: list[OSError] = []
        for folder, subfolders, names in os.walk(path, onerror=errors.append):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(n for n in names if not n.startswith(".")):
                found = True
                yield Path(folder) / name, None
        for error in errors:
            yield Path(error.filename or path), f"cannot read the folder ({error.strerror})"
        if not found and not errors:
            yield path, "the folder has no files to ingest (hidden files are skipped)"


@dataclass(frozen=True)
class Reading:
    """How ``Ingest`` reads each file: ``prepare_document``'s options."""

    fiscal_year: int | None = None
    municipality: str | None = None
    strict: bool = False
    pdf_limits: PdfLimits | None = None
    layout: str | None = None
    sheet_mapping: SheetMapping | None = None


class Ingest:
    """A run of many files: ``batch`` files per store transaction, then the index follows.

    ``open_store`` opens the store again in the helper process that indexes a run longer
    than one batch (it must pickle: a ``functools.partial`` of a module function). With
    ``store_only`` the index is left to the servers that follow the store's log. With
    ``raise_errors`` an unexpected error is raised (after its file's outcome, once
    stored) instead of costing one file.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        index_dir: Path,
        retention: float | None,
        open_store: Callable[[], Engine],
        reading: Reading = Reading(),
        batch: int = 100,
        store_only: bool = False,
        raise_errors: bool = False,
    ) -> None:
        self.engine, self.reading, self.batch = engine, reading, batch
        self.index_dir, self.retention, self.open_store = index_dir, retention, open_store
        self.store_only, self.raise_errors = store_only, raise_errors

    def run(self, paths: Iterable[Path]) -> Iterator[Filed | IndexNote]:
        """Ingest every file of ``paths`` (folders walked, hidden files skipped)."""
        found = list(files(paths))
        indexer = _Indexer(
            self.engine,
            self.index_dir,
            self.retention,
            self.open_store if len(found) > self.batch and not self.store_only else None,
            self.store_only,
        )
        try:
            seen: dict[tuple[str, int], tuple[Path, str]] = {}  # report -> (file, sha256)
            # Files in input order since the last batch: prepared, or their outcome.
            waiting: list[tuple[Path, PreparedDocument | Filed]] = []
            for path, problem in found:
                item = Filed(str(path), reason=problem) if problem else self._prepare(path, seen)
                waiting.append((path, item))
                if sum(isinstance(i, PreparedDocument) for _, i in waiting) >= self.batch:
                    yield from self._flush(waiting, seen, indexer)
            yield from self._flush(waiting, seen, indexer)
            yield from indexer.finish()
        except BaseException:  # Ctrl-C, or a fault under --debug: the log keeps what is left
            indexer.close(wait=False)
            raise
        indexer.close()

    def _prepare(
        self, path: Path, seen: dict[tuple[str, int], tuple[Path, str]]
    ) -> PreparedDocument | Filed:
        reading = self.reading
        try:
            prepared = prepare_document(
                path.read_bytes(),
                path.name,
                fiscal_year=reading.fiscal_year,
                municipality=reading.municipality,
                strict=reading.strict,
                pdf_limits=reading.pdf_limits,
                layout=reading.layout,
                sheet_mapping=reading.sheet_mapping,
            )
            identity = (prepared.municipality, prepared.fiscal_year)
            earlier = seen.get(identity)
            if earlier is not None and earlier[1] != prepared.sha256:
                raise DocumentRefused(
                    path.name,
                    f"{earlier[0]} of this run is also {identity[0]} {identity[1]}; "
                    "one would replace the other (check --fiscal-year / --municipality)",
                )
        except DocumentRefused as refusal:
            return Filed(str(path), reason=refusal.reason)
        except OSError as error:
            return Filed(str(path), reason=f"cannot read the file ({error.strerror or error})")
        except Exception as error:  # a bug must cost one file, not the rest of the run
            _log.debug("ingest failed", exc_info=True)
            if self.raise_errors:
                raise
            return Filed(
                str(path),
                reason=f"internal error ({type(error).__name__}); nothing stored",
                failed=True,
            )
        seen[identity] = (path, prepared.sha256)
        return prepared

    def _flush(
        self,
        waiting: list[tuple[Path, PreparedDocument | Filed]],
        seen: dict[tuple[str, int], tuple[Path, str]],
        indexer: _Indexer,
    ) -> Iterator[Filed | IndexNote]:
        """Store the waiting files, yield their outcomes in order, update the index."""
        if not waiting:
            return
        items = [item for _, item in waiting if isinstance(item, PreparedDocument)]
        try:
            stored = iter(store_batch(writer(self.engine), items))
        except SQLAlchemyError as error:  # the transaction itself: nothing of the batch
            stored = iter([error] * len(items))
        faults.point("stored")
        for path, item in waiting:
            if isinstance(item, Filed):
                yield item
                continue
            outcome = next(stored)
            filed = file_outcome(str(path), outcome)
            yield filed
            if isinstance(outcome, IngestResult):
                continue
            identity = (item.municipality, item.fiscal_year)
            if seen.get(identity, (None, ""))[1] == item.sha256:
                del seen[identity]  # not stored after all: another file may be this report
            if self.raise_errors and filed.failed:  # --debug: the traceback of a fault
                raise outcome
        waiting.clear()
        yield from indexer.after_batch()


class _Indexer:
    """Brings the index up to the store after each batch of a run.

    A run of one batch does it in this process. A longer run (``open_store`` given) does it in
    one helper process, so the next batch is decoded and stored on one core while the last is
    indexed on the other (the index costs about as much as the store). At most one index
    commit is under way; batches stored meanwhile go into the next one. ``finish`` waits for
    it and commits whatever is left here, so the run ends with the index in step.
    """

    def __init__(
        self,
        engine: Engine,
        index_dir: Path,
        retention: float | None,
        open_store: Callable[[], Engine] | None,
        store_only: bool,
    ) -> None:
        self.engine, self.index_dir, self.retention = engine, index_dir, retention
        self.store_only = store_only
        self.helper: ProcessPoolExecutor | None = None
        self.running: Future[IndexNote] | None = None
        if open_store is not None:
            spawn = multiprocessing.get_context("spawn")  # no inherited store connections
            start = (open_store, index_dir, retention, os.getpid())
            self.helper = ProcessPoolExecutor(1, spawn, _helper_start, start)

    def _here(self) -> IndexNote:
        return follow_index(reader(self.engine), self.index_dir, self.retention)

    def after_batch(self) -> list[IndexNote]:
        if self.store_only:
            return []
        if self.helper is None:
            return [self._here()]
        notes = self._collect(wait=False)
        if self.running is None and self.helper is not None:
            self.running = self.helper.submit(_helper_index)
        return notes

    def finish(self) -> list[IndexNote]:
        if self.store_only:
            return []
        notes = self._collect(wait=True)
        self.close()
        return [*notes, self._here()]

    def close(self, wait: bool = True) -> None:
        if self.helper is not None:
            self.helper.shutdown(wait=wait, cancel_futures=not wait)
            self.helper = None

    def _collect(self, wait: bool) -> list[IndexNote]:
        if self.running is None or not (wait or self.running.done()):
            return []
        running, self.running = self.running, None
        try:
            return [running.result()]
        except BrokenProcessPool:  # the helper died: index here from now on
            if self.helper is not None:
                self.helper.shutdown(wait=False)
            self.helper = None
            return [IndexNote("; the indexing process stopped; indexing in this process instead")]


_helper: dict[str, Any] = {}  # the helper process's engine, index folder and log retention


def _helper_start(
    open_store: Callable[[], Engine], index_dir: Path, retention: float | None, parent: int
) -> None:
    """Start the helper: it prints nothing (its notes come back as results) and it ends when
    the ingest does, even one killed with -9, rather than linger holding the caller's output
    pipes or the index lock. Ending mid-commit is the same as a killed ingest: the store
    keeps the queued work, and the next ingest or check --repair applies it."""
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    _helper.update(engine=open_store(), index_dir=index_dir, retention=retention)


def _helper_index() -> IndexNote:
    # Work stored while it indexed is taken at once: the helper does not wait for the next
    # batch to be handed to it while the index is behind.
    return follow_index(
        reader(_helper["engine"]), _helper["index_dir"], _helper["retention"], repeat=True
    )
