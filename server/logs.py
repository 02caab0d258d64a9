"""Log lines: one JSON object (or one line of text) per record, each with the id of the
request being handled (``REQUEST_ID``, set by ``server.middleware.Observer``)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from typing import IO, Any

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def request_id(incoming: str | None) -> str:
    """The incoming id when it is short and of safe characters, else a new one."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being handled ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


_SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the access line's
    fields, and the traceback of an exception.

    A traceback holds code lines and each exception's message, never local variables. The
    values SQLAlchemy quotes in a statement error's message (``[parameters: ...]``: what a
    client searched for, a file's text) are removed; a database's own message may still
    quote a value it refused (PostgreSQL's ``DETAIL: Key (...)=(...)``).
    """

    def formatException(self, ei: Any) -> str:
        return _SQL_PARAMETERS.sub("[parameters: not logged]", super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update(getattr(record, "access", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``log_format`` ("json" or "text") lines, each with its request id."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())  # on the handler, so propagated records get it too
    return handler


def configure_logging(log_format: str) -> None:
    """Send every log record of this process to stderr as ``log_format`` lines (the server's
    processes only: replaces the command line's plain handler)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(log_format))
    logging.getLogger("plan_archive").setLevel(logging.INFO)
