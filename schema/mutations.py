"""Mutations for integrators: ingest an uploaded report, delete a report.

Every mutation needs ``Authorization: Bearer <token>``; without a valid one it is refused
with ``UNAUTHENTICATED`` before anything is read or written. A refused file changes nothing,
as on the command line: the same engine (``index.ingest``) stores it and reports its outcome.
"""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

import strawberry
from strawberry.file_uploads import Upload

from archive import queries
from archive.errors import DocumentRefused
from archive.ingest import delete_document
from archive.isolated import PreparationTimeout, prepare_isolated
from index.ingest import Filed, file_outcome, store_one
from schema.context import Info
from schema.errors import BAD_USER_INPUT, NOT_FOUND, TIMEOUT, UNAUTHENTICATED, PublicError
from schema.ids import number_of
from schema.types import Document


def _require_writer(info: Info) -> None:
    if not info.context.authenticated:
        raise PublicError("this needs Authorization: Bearer <token>", UNAUTHENTICATED)
    if info.context.writer is None or info.context.update_index is None:
        raise PublicError("this server does not accept changes", UNAUTHENTICATED)


# How long reading an upload may take when the request has no deadline (tests, scripts).
PREPARE_SECONDS = 60.0
# How long a mutation waits for the index to take its change before it answers anyway.
INDEX_WAIT_SECONDS = 2.0


def _update_index(info: Info) -> None:
    """Ask for the index to take the change, and wait a little for it, so that a search
    right after the mutation finds it. The update itself runs off the request path: when
    another writer holds the index (or it must be rebuilt first), the change stays queued
    in the store and is applied later; the mutation's answer does not wait for that."""
    assert info.context.update_index is not None
    remaining = info.context.remaining()
    wait = INDEX_WAIT_SECONDS if remaining is None else min(INDEX_WAIT_SECONDS, remaining / 2)
    info.context.update_index(wait)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Ingest an uploaded report (GraphQL multipart request, 50 MiB at most). "
        "A file that cannot be read is refused with BAD_USER_INPUT and changes nothing."
    )
    async def ingest_document(
        self,
        info: Info,
        file: Upload,
        fiscal_year: int | None = None,
        municipality: str | None = None,
    ) -> Document:
        _require_writer(info)
        if not hasattr(file, "read"):
            raise PublicError("file must be an uploaded file (multipart request)", BAD_USER_INPUT)
        try:
            data = await file.read()
        finally:
            await file.close()  # type: ignore[attr-defined]
        # Keep only the file's own name: a client may send a path (../../etc/x.txt).
        name = PurePosixPath(str(getattr(file, "filename", "") or "upload").replace("\\", "/")).name
        name = name or "upload"
        try:
            # Read in a child process that is killed when the request's time is up (half of
            # what remains: the store needs the rest), so a stopped upload stops working.
            remaining = info.context.remaining()
            prepared = await asyncio.to_thread(
                prepare_isolated,
                data,
                name,
                seconds=PREPARE_SECONDS if remaining is None else remaining / 2,
                fiscal_year=fiscal_year,
                municipality=municipality,
                pdf_limits=info.context.pdf_limits,
            )
            del data  # the child is done with the bytes; they may be megabytes
            filed = store_one(info.context.writing, name, prepared)
        except PreparationTimeout as timeout:  # not the file's fault: the server's time
            filed = Filed(name, reason=f"{timeout}; nothing was stored", failed=True, error=timeout)
        except Exception as error:  # refused when read, or the reading failed
            filed = file_outcome(name, error)
        if info.context.on_ingest is not None:
            info.context.on_ingest(filed.outcome, filed.measure_count)
        if filed.result is None:
            if isinstance(filed.error, PreparationTimeout):
                raise PublicError(filed.reason, TIMEOUT)
            if isinstance(filed.error, DocumentRefused):
                raise PublicError(f"refused: {filed.reason}", BAD_USER_INPUT)
            assert filed.error is not None
            raise filed.error  # the store failed, or a bug: not the file's fault
        info.context.after_write()
        _update_index(info)
        document = queries.documents_by_ids(info.context.db, [filed.result.document_id])[0]
        assert document is not None
        return Document.from_row(document)

    @strawberry.mutation(description="Delete a report and its measures; returns what was deleted.")
    def delete_document(self, info: Info, id: strawberry.ID) -> Document | None:
        _require_writer(info)
        document_id = number_of(id, "Document")
        if document_id is None:
            raise PublicError("id is not a Document ID", BAD_USER_INPUT)
        with info.context.writing() as db, db.begin():
            found = queries.documents_by_ids(db, [document_id])[0]
            if found is None:
                raise PublicError("no such document", NOT_FOUND)
            deleted = Document.from_row(found)
            deleted.counted_measures = delete_document(db, document_id)
        info.context.after_write()
        _update_index(info)
        return deleted
