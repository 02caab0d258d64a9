"""``GET /export.csv`` and ``GET /export.jsonl``: a measure list or a search as a file, streamed.

Query parameters mirror ``MeasureFilter`` (``fiscalYear`` and ``department`` may repeat), with
``q`` for a search, ``order`` and ``limit``. A bad parameter is a 400 with a one-line plain-text
message. The request runs on one reader session, so the whole file comes from one snapshot of
the store; the rows are read and sent a batch at a time (``schema/export.py``), and at most
``max_rows`` of them (``PLAN_ARCHIVE_MAX_EXPORT_ROWS``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from index.search import Searcher
from schema.errors import BAD_USER_INPUT, PublicError
from schema.export import MEDIA_TYPES, prepare_export
from schema.types import MeasureFilter

_LISTS = {  # parameter -> MeasureFilter field; each may be given more than once
    "fiscalYear": "fiscal_years",
    "department": "departments",
    "municipality": "municipalities",
    "pillar": "pillars",
    "nextYearStatus": "next_year_statuses",
}
_SINGLE = ("q", "fiscalYearFrom", "fiscalYearTo", "order", "limit")


def export_routes(
    sessions: sessionmaker[Session], searcher: Searcher, max_rows: int
) -> list[Route]:
    async def export(request: Request) -> Response:
        format = request.url.path.rsplit(".", 1)[1]
        query, where, order, limit = _parameters(request.query_params, max_rows)
        db = sessions()
        try:
            # The search and the count may refuse the request: they run before the answer starts.
            found = await run_in_threadpool(
                prepare_export,
                db,
                searcher,
                query=query,
                where=where,
                order=order,
                limit=limit or max_rows,
            )
        except PublicError as error:
            db.close()
            raise HTTPException(400 if error.code == BAD_USER_INPUT else 503, str(error)) from None
        except BaseException:
            db.close()
            raise
        if limit is None and found.total > max_rows:
            db.close()
            raise HTTPException(
                400,
                f"the export holds {found.total} measures, more than this server's {max_rows}; "
                f"narrow the filter or pass limit={max_rows}",
            )
        name = "search" if found.search else "measures"
        return StreamingResponse(
            _streamed(found.chunks(format), db),
            media_type=MEDIA_TYPES[format],
            headers={
                "content-disposition": f'attachment; filename="plan-archive-{name}.{format}"',
                "x-total-count": str(found.total),
            },
            background=BackgroundTask(db.close),
        )

    return [Route("/export.csv", export), Route("/export.jsonl", export)]


async def _streamed(chunks: Iterator[str], db: Session) -> AsyncIterator[str]:
    """The chunks, each read in a worker thread; the session ends however the stream does
    (finished, the client gone, or cut by the stream timeout)."""
    try:
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk
    finally:
        db.close()


def _parameters(
    params: QueryParams, max_rows: int
) -> tuple[str | None, MeasureFilter | None, str | None, int | None]:
    unknown = sorted(set(params) - set(_LISTS) - set(_SINGLE))
    if unknown:
        known = ", ".join([*_SINGLE, *_LISTS])
        raise HTTPException(400, f"unknown parameter {unknown[0]!r}; the parameters are {known}")
    for name in _SINGLE:
        if len(params.getlist(name)) > 1:
            raise HTTPException(400, f"give {name} once")
    query = params.get("q")
    if query is not None and not query.strip():
        raise HTTPException(400, "q is empty; leave it out to export the measure list")
    limit = None
    if "limit" in params:
        raw = params["limit"]
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= max_rows):
            raise HTTPException(400, f"limit must be a whole number from 1 to {max_rows}")
        limit = int(raw)
    fields: dict[str, object] = {
        field: [_year(v, name) for v in params.getlist(name)]
        if name == "fiscalYear"
        else params.getlist(name)
        for name, field in _LISTS.items()
        if name in params
    }
    for name, field in (("fiscalYearFrom", "fiscal_year_from"), ("fiscalYearTo", "fiscal_year_to")):
        if name in params:
            fields[field] = _year(params[name], name)
    where = MeasureFilter(**fields) if fields else None  # type: ignore[arg-type]
    return query, where, params.get("order"), limit


def _year(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) == 4):
        raise HTTPException(400, f"{name} must be a Western year such as 2020, not {value!r}")
    return int(value)
