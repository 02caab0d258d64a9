"""``GET /export.csv``, ``/export.jsonl`` and ``/export.xlsx``: a measure list or a search as a
file, streamed.

Query parameters mirror ``MeasureFilter`` (``fiscalYear``, ``department``, ``municipality``,
``pillar`` and ``nextYearStatus`` may repeat), with ``q`` for a search, ``order`` and ``limit``:
the names of the search page's own URL. ``header=ja`` gives a CSV Japanese headers (``en``,
the column names, is the default: scripts read them); a workbook's are always Japanese.
Each row's ``url`` is the measure's page on the site the request came to.

A bad parameter is a 400 with a one-line plain-text message, in Japanese when the request's
``Accept-Language`` prefers it; since a HEAD answer has no body, every refusal also says
itself in headers: ``X-Error-Code`` (``BAD_USER_INPUT``, ``EXPORTS_BUSY``, ``SEARCH_TIMEOUT``…),
``X-Error-Reason`` (the key of ``schema/messages.py``) and ``X-Error-Message`` (the same
line, percent-encoded UTF-8: ``decodeURIComponent`` reads it). The request runs on one reader
session, so the whole file comes from one snapshot of the store; the rows are read and sent a
batch at a time (``schema/export.py``), and at most ``max_rows`` of them
(``PLAN_ARCHIVE_MAX_EXPORT_ROWS``).

An export holds a pooled store connection until its last byte is sent, so at most
``max_concurrent`` run at once in a process (``PLAN_ARCHIVE_MAX_CONCURRENT_EXPORTS``; one more
is a 503), a client that reads nothing for ``send_timeout`` seconds is cut, and the session is
closed however the answer ends (finished, client gone, or cut). A HEAD request gets the
headers (after the search or the count) and no rows.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from urllib.parse import quote

from anyio import CancelScope
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from archive.decode import storable
from archive.errors import ArchiveError
from index.search import Searcher
from schema import messages
from schema.choices import YEARS
from schema.errors import BAD_USER_INPUT
from schema.export import HEADERS, MEDIA_TYPES, XLSX, Export, prepare_export
from schema.types import MeasureFilter
from server.limits import allow_streaming
from server.over_http import status

logger = logging.getLogger("plan_archive.server")

SEND_TIMEOUT = 30.0  # seconds one chunk may wait for a client that reads nothing

_LISTS = {  # parameter -> MeasureFilter field; each may be given more than once
    "fiscalYear": "fiscal_years",
    "department": "departments",
    "municipality": "municipalities",
    "pillar": "pillars",
    "nextYearStatus": "next_year_statuses",
}
_SINGLE = ("q", "fiscalYearFrom", "fiscalYearTo", "order", "limit", "header")
EXPORTS_BUSY = "EXPORTS_BUSY"


class Refusal(HTTPException):
    """An export refused before its first byte: a one-line text, in Japanese when the request
    prefers it, and the same in headers for a HEAD request (which gets no body)."""

    def __init__(
        self, status: int, code: str, english: str, reason: str, japanese: bool, **params: object
    ) -> None:
        text = (messages.japanese(reason, params) if japanese else None) or english
        headers = {
            "x-error-code": code,
            "x-error-reason": reason,
            "x-error-message": quote(text, safe=""),
        }
        super().__init__(status, text, headers)


def export_routes(
    sessions: sessionmaker[Session],
    searcher: Searcher,
    max_rows: int,
    *,
    max_concurrent: int = 2,
    send_timeout: float = SEND_TIMEOUT,
) -> list[Route]:
    running = 0  # exports of this process being prepared or sent (one event loop: no lock)

    def release() -> None:
        nonlocal running
        running -= 1

    async def export(request: Request) -> Response:
        nonlocal running
        format = request.url.path.rsplit(".", 1)[1]
        japanese = messages.prefers_japanese(request.headers.get("accept-language"))
        query, where, order, limit, header = _parameters(
            request.query_params, max_rows, format, japanese
        )
        if running >= max_concurrent:
            raise Refusal(
                503,
                EXPORTS_BUSY,
                f"this server is writing {max_concurrent} exports already; try again later",
                EXPORTS_BUSY,
                japanese,
                running=max_concurrent,
            )
        running += 1
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
                site=str(request.base_url),  # the page is served at the root: /
            )
            if limit is None and found.total > max_rows:
                raise Refusal(
                    400,
                    BAD_USER_INPUT,
                    f"the export holds {found.total} measures, more than this server's "
                    f"{max_rows}; narrow the filter or pass limit={max_rows}",
                    "EXPORT_TOO_LARGE",
                    japanese,
                    total=found.total,
                    largest=max_rows,
                )
        except BaseException as error:
            release()
            db.close()
            if isinstance(error, ArchiveError):
                raise Refusal(
                    status(error.code),
                    error.code,
                    str(error),
                    error.catalog_key or error.code,
                    japanese,
                    **error.params,
                ) from None
            raise
        return _Export(
            iter(()) if request.method == "HEAD" else _content(found, format, header),
            db=db,
            release=release,
            send_timeout=send_timeout,
            media_type=MEDIA_TYPES[format],
            headers={
                "content-disposition": _disposition(query if found.search else None, where, format),
                "x-total-count": str(found.total),
            },
        )

    return [
        Route("/export.csv", export),
        Route("/export.jsonl", export),
        Route(f"/export.{XLSX}", export),
    ]


def _content(found: Export, format: str, header: str | None) -> Iterator[str] | Iterator[bytes]:
    if format == XLSX:
        return found.workbook()
    return found.chunks(format, header or "en")


class _ClientStalled(Exception):
    pass


class _Export(StreamingResponse):
    """The export's chunks, each read in a worker thread. However the answer ends (finished,
    the client gone, an error, or the task cancelled by the stream timeout) the session is
    closed and the export's place freed before the request ends; a generator's ``finally``
    or a background task would not run on a cancellation."""

    def __init__(
        self,
        chunks: Iterator[str] | Iterator[bytes],
        *,
        db: Session,
        release: Callable[[], None],
        send_timeout: float,
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(chunks, media_type=media_type, headers=headers)
        self.db = db
        self.release = release
        self.send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            try:
                async with asyncio.timeout(self.send_timeout):
                    await send(message)
            except TimeoutError:
                raise _ClientStalled from None

        try:
            allow_streaming(scope)
            await super().__call__(scope, receive, timed_send)
        except _ClientStalled:  # the connection closes before the body's end
            logger.warning("an export's client read nothing for %g s; cut", self.send_timeout)
        finally:
            self.release()
            with CancelScope(shield=True):  # run even if this task is being cancelled
                await run_in_threadpool(self.db.close)


# Characters a file name may not hold on Windows, macOS or Linux, control characters and
# blanks: each run becomes one "_".
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|\s]+')
_NAME_LENGTH = 40  # characters of the query kept in a file name


def _disposition(query: str | None, where: MeasureFilter | None, format: str) -> str:
    """``attachment`` named after the export, so exports of different searches do not pile up
    under one name: ``plan-archive-<query>-<years>.<format>`` for a search (the query
    sanitised for a file name and cut to 40 characters; the years chosen, or a range),
    ``plan-archive-measures`` for the list. RFC 6266: ``filename*`` in UTF-8, and ``filename``
    an ASCII fallback (``search`` in place of a query that is not plain ASCII)."""
    years = ""
    if where is not None:
        if where.fiscal_years:
            years = "_".join(str(year) for year in sorted(set(where.fiscal_years)))
        elif where.fiscal_year_from is not None or where.fiscal_year_to is not None:
            low, high = where.fiscal_year_from, where.fiscal_year_to
            years = f"{low or ''}-{high or ''}"
    if query is None:
        parts = fallback_parts = ["measures"]
    else:
        named = _UNSAFE_IN_NAME.sub("_", unicodedata.normalize("NFC", query)).strip("._")
        named = named[:_NAME_LENGTH].strip("._") or "search"
        plain = named if re.fullmatch(r"[A-Za-z0-9._-]+", named) else "search"
        parts, fallback_parts = [named, years], [plain, years]
    name = "-".join(["plan-archive", *filter(None, parts)]) + f".{format}"
    fallback = "-".join(["plan-archive", *filter(None, fallback_parts)]) + f".{format}"
    if name == fallback:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _parameters(
    params: QueryParams, max_rows: int, format: str, japanese: bool
) -> tuple[str | None, MeasureFilter | None, str | None, int | None, str | None]:
    def refuse(english: str, reason: str, **values: object) -> Refusal:
        return Refusal(400, BAD_USER_INPUT, english, reason, japanese, **values)

    unknown = sorted(set(params) - set(_LISTS) - set(_SINGLE))
    if unknown:
        known = ", ".join([*_SINGLE, *_LISTS])
        raise refuse(
            f"unknown parameter {unknown[0]!r}; the parameters are {known}",
            "EXPORT_UNKNOWN_PARAMETER",
            name=unknown[0],
            known=known,
        )
    for name in _SINGLE:
        if len(params.getlist(name)) > 1:
            raise refuse(f"give {name} once", "EXPORT_REPEATED", name=name)
    for name, value in params.multi_items():
        if not storable(value):  # a NUL (%00): PostgreSQL refuses it in a parameter
            raise refuse(f"{name} must not contain NUL (U+0000)", "EXPORT_NUL", name=name)
    query = params.get("q")
    if query is not None and not query.strip():
        raise refuse("q is empty; leave it out to export the measure list", "EXPORT_EMPTY_QUERY")
    limit = None
    if "limit" in params:
        raw = params["limit"]
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= max_rows):
            raise refuse(
                f"limit must be a whole number from 1 to {max_rows}",
                "EXPORT_LIMIT",
                largest=max_rows,
            )
        limit = int(raw)
    header = params.get("header")
    if header is not None:
        if format == "jsonl":
            raise refuse(
                "header is for CSV and xlsx; JSON Lines keys are always English",
                "EXPORT_HEADER_JSONL",
            )
        if header not in HEADERS:
            raise refuse(f"header must be one of {', '.join(HEADERS)}", "EXPORT_HEADER")
    fields: dict[str, object] = {
        field: [_year(v, name, refuse) for v in params.getlist(name)]
        if name == "fiscalYear"
        else params.getlist(name)
        for name, field in _LISTS.items()
        if name in params
    }
    for name, field in (("fiscalYearFrom", "fiscal_year_from"), ("fiscalYearTo", "fiscal_year_to")):
        if name in params:
            fields[field] = _year(params[name], name, refuse)
    where = MeasureFilter(**fields) if fields else None  # type: ignore[arg-type]
    return query, where, params.get("order"), limit, header


def _year(value: str, name: str, refuse: Callable[..., Refusal]) -> int:
    if not (value.isascii() and value.isdigit() and YEARS[0] <= int(value) <= YEARS[1]):
        raise refuse(
            f"{name} must be a Western year such as 2020, not {value!r}",
            "EXPORT_YEAR",
            name=name,
            value=value,
        )
    return int(value)
