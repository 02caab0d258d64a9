"""Configuration: one frozen ``Settings`` built once from the environment.

Every variable is declared once, in ``SETTINGS``: its name, the ``Settings`` field it sets,
how its text is read (and refused), its default as one would write it, and its help. That
table builds ``Settings``, the README's table (``python -m server.settings --markdown``,
compared by tests/test_docs.py) and the defaults ``--help`` shows (``default_help``). A plain
table rather than pydantic-settings: that would add pydantic for 28 variables, and its own
messages would replace the ones operators (and tests) know.

Each value comes from the process environment, then from a ``.env`` file, then from the
default. Nothing else in plan-archive reads its configuration from ``os.environ`` (the PDF
reader only passes PATH and the locale on to its child, and ``plan-archive serve`` hands
its workers the folder of their connection counts, server/balance.py); tests pass a dict.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from archive.pdf import PdfLimits
from schema.limits import Limits


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


# How a variable's text is read: each reader takes the variable's name (for its message) and
# its text, and returns the value or raises SettingsError.
Reader = Callable[[str, str], Any]

# One spelling for every yes-or-no variable: the union of what each accepted before.
TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")


def _flag(yes: str, no: str) -> Reader:
    """A yes-or-no variable; ``yes`` and ``no`` are the words its message and README use."""

    def read(name: str, text: str) -> bool:
        word = text.strip().lower()
        if word not in TRUE + FALSE:
            raise SettingsError(f"{name} must be {yes} or {no}")
        return word in TRUE

    return read


def _choice(*options: str) -> Reader:
    def read(name: str, text: str) -> str:
        word = text.strip().lower()
        if word not in options:
            raise SettingsError(f"{name} must be {' or '.join(options)}")
        return word

    return read


def _folder(name: str, text: str) -> Path:
    return Path(text).expanduser()


def _url(name: str, text: str) -> str:
    """A SQLAlchemy URL, or "" for the SQLite file in the data folder (``from_env``)."""
    url = text.strip()
    if url and "://" not in url:
        raise SettingsError(
            f"{name} must be a SQLAlchemy URL such as postgresql+psycopg://user@host/db"
        )
    return url


def _tokens(name: str, text: str) -> tuple[str, ...]:
    return tuple(token.strip() for token in text.split(",") if token.strip())


def _number(name: str, text: str, zero: bool = False) -> float:
    text = text.strip()
    try:
        parsed = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {text!r}") from None
    if parsed < 0 or (parsed == 0 and not zero):
        raise SettingsError(f"{name} must be {'zero or more' if zero else 'above zero'}")
    return parsed


def _seconds(name: str, text: str) -> float:
    return _number(name, text)


def _count(name: str, text: str) -> int:
    """A number above zero, its fraction dropped (as these variables were always read)."""
    return int(_number(name, text))


def _connections(name: str, text: str) -> int:
    return max(1, _count(name, text))


def _whole(name: str, text: str) -> int:
    parsed = _number(name, text)
    if not parsed.is_integer():
        raise SettingsError(f"{name} must be a whole number")
    return int(parsed)


def _mebibytes(name: str, text: str) -> int:
    return _count(name, text) << 20


def _seconds_or_zero(name: str, text: str) -> float:
    return _number(name, text, zero=True)


def _mebibytes_or_zero(name: str, text: str) -> int:
    return int(_number(name, text, zero=True)) << 20


def _niceness(name: str, text: str) -> int:
    parsed = _number(name, text, zero=True)
    if not parsed.is_integer() or parsed > 19:
        raise SettingsError(f"{name} must be a whole number from 0 to 19")
    return int(parsed)


@dataclass(frozen=True)
class Setting:
    name: str  # the variable
    field: str  # the Settings field it sets; "limits.max_depth" is a field of Settings.limits
    read: Reader
    default: str  # as one would write it in the variable
    help: str  # the README's "meaning"
    shown: str = ""  # the README's default, when not the text of ``default``


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PLAN_ARCHIVE_DATA_DIR",
        "data_dir",
        _folder,
        "./var",
        "folder for the embedded store and the index",
    ),
    Setting(
        "PLAN_ARCHIVE_DATABASE_URL",
        "database_url",
        _url,
        "",
        "SQLAlchemy URL of the store, e.g. `postgresql+psycopg://user@host/db` "
        "(install the `postgres` extra)",
        shown="SQLite file in the data folder",
    ),
    Setting(
        "PLAN_ARCHIVE_API_TOKENS",
        "api_tokens",
        _tokens,
        "",
        "comma-separated bearer tokens that may run mutations",
        shown="none: mutations refused",
    ),
    Setting(
        "PLAN_ARCHIVE_GRAPHIQL",
        "graphiql",
        _flag("true", "false"),
        "true",
        "serve GraphiQL to browsers at `/graphql`",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_QUERY_DEPTH",
        "limits.max_depth",
        _count,
        "8",
        "GraphQL limit: fields within fields in one query, fragment spreads counted",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_ALIASES",
        "limits.max_aliases",
        _count,
        "15",
        "GraphQL limit: aliases in one query, fragment spreads counted",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_TOKENS",
        "limits.max_tokens",
        _count,
        "2000",
        "GraphQL limit: tokens in one document",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_PAGE_SIZE",
        "limits.max_page_size",
        _count,
        "100",
        "GraphQL limit: `first`/`last` of one list, and the IDs `nodes` takes",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_COST",
        "limits.max_cost",
        _count,
        "25000",
        "GraphQL limit: the estimated cost of one query (`QUERY_TOO_COSTLY`)",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_BODY_BYTES",
        "max_body_bytes",
        _count,
        str(1 << 20),
        "bytes in the body of one GraphQL request",
        shown="`1048576` (1 MiB)",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_UPLOAD_BYTES",
        "max_upload_bytes",
        _count,
        str(50 << 20),
        "bytes in the body of one upload (a multipart request)",
        shown="`52428800` (50 MiB)",
    ),
    Setting(
        "PLAN_ARCHIVE_REQUEST_TIMEOUT",
        "request_timeout",
        _seconds,
        "10",
        "seconds a request may take until its answer starts",
    ),
    Setting(
        "PLAN_ARCHIVE_WORKER_THREADS",
        "worker_threads",
        _whole,
        "4",
        "GraphQL requests that work at once in one server process (each in a worker thread, "
        "off the event loop; a request starts beside another only once that one has worked "
        "25 ms); the rest wait their turn",
    ),
    Setting(
        "PLAN_ARCHIVE_INGEST_NICE",
        "ingest_nice",
        _niceness,
        "10",
        "how much `plan-archive ingest` lowers its CPU priority (`--nice`); `0` keeps it",
    ),
    Setting(
        "PLAN_ARCHIVE_INDEX_POLL",
        "index_poll",
        _seconds_or_zero,
        "1",
        "seconds between a server's looks at the store's index log, for changes made by "
        "another process or node, which it applies to its own index, building it first if "
        "there is none (docs/deployment.md); `0`: the server does not follow the log, and "
        "its index takes only its own changes (one process writes, or commands keep it)",
    ),
    Setting(
        "PLAN_ARCHIVE_INDEX_LOG_RETENTION",
        "index_log_retention",
        _seconds,
        str(7 * 24 * 3600),
        "seconds the store keeps an index log entry; an index further behind (a node down "
        "longer) is rebuilt from the store",
        shown="`604800` (7 days)",
    ),
    Setting(
        "PLAN_ARCHIVE_STREAM_TIMEOUT",
        "stream_timeout",
        _seconds,
        "300",
        "seconds a streamed answer (an export) may run in all",
    ),
    Setting(
        "PLAN_ARCHIVE_HEADER_TIMEOUT",
        "header_timeout",
        _seconds,
        "10",
        "seconds a connection has to send a whole request head, from its opening and from "
        "each answer; then it is closed (408 if part of a head came)",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_CONNECTIONS",
        "max_connections",
        _connections,
        "1000",
        "connections one server process holds; one more closes the one waiting longest for "
        "a head, or, when all are requests under way, is answered 503",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_EXPORT_ROWS",
        "max_export_rows",
        _count,
        "50000",
        "rows one HTTP export may hold (the CLI has no cap)",
    ),
    Setting(
        "PLAN_ARCHIVE_MAX_CONCURRENT_EXPORTS",
        "max_concurrent_exports",
        _count,
        "2",
        "HTTP exports one server process sends at once (one more is a 503); each holds a "
        "store connection until it is sent",
    ),
    Setting(
        "PLAN_ARCHIVE_RESPONSE_CACHE_MB",
        "response_cache_bytes",
        _mebibytes_or_zero,
        "64",
        "response cache per worker; `0` turns it off",
    ),
    Setting(
        "PLAN_ARCHIVE_LOCK_TIMEOUT",
        "lock_timeout",
        _seconds,
        "30",
        "seconds a writer waits for another before it is refused (`STORE_BUSY`)",
    ),
    Setting(
        "PLAN_ARCHIVE_STATEMENT_TIMEOUT",
        "statement_timeout",
        _seconds,
        "30",
        "seconds one SQL statement may run on PostgreSQL (`STORE_TIMEOUT`)",
    ),
    Setting(
        "PLAN_ARCHIVE_METRICS",
        "metrics",
        _flag("on", "off"),
        "on",
        "`on` serves `/metrics`, `off` removes it",
    ),
    Setting(
        "PLAN_ARCHIVE_LOG_FORMAT",
        "log_format",
        _choice("json", "text"),
        "json",
        "`json` (one object per line) or `text`",
    ),
    Setting(
        "PLAN_ARCHIVE_PDF_TIMEOUT",
        "pdf_limits.seconds",  # and, in whole seconds, its CPU time (from_env)
        _seconds,
        "60",
        "seconds (wall clock and CPU) one PDF may take to read; an upload also stays within "
        "the request timeout",
    ),
    Setting(
        "PLAN_ARCHIVE_PDF_MEMORY_MB",
        "pdf_limits.memory_bytes",
        _mebibytes,
        "1024",
        "memory the PDF-reading process may use",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The values of ``SETTINGS`` (each field's meaning is its variable's help there)."""

    data_dir: Path
    database_url: str
    api_tokens: tuple[str, ...]
    graphiql: bool
    limits: Limits
    max_body_bytes: int
    max_upload_bytes: int
    request_timeout: float
    worker_threads: int
    stream_timeout: float
    max_export_rows: int
    max_concurrent_exports: int
    response_cache_bytes: int
    statement_timeout: float
    lock_timeout: float
    pdf_limits: PdfLimits
    metrics: bool
    log_format: str
    # prometheus_client's multiprocess folder, set by `plan-archive serve` for its workers
    metrics_dir: Path | None
    header_timeout: float
    max_connections: int
    ingest_nice: int
    index_log_retention: float
    index_poll: float

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def metrics_folder(self) -> Path:
        """Where ``plan-archive serve`` keeps its workers' figures (and the CLI adds its own):
        ``PROMETHEUS_MULTIPROC_DIR`` when set, else ``<data dir>/metrics``."""
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def synonyms_file(self) -> Path:
        """Extra synonym groups, one per line, comma-separated (see the README)."""
        return self.data_dir / "synonyms.txt"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
        in_file: dict[str, str | None] = {}
        if env_file is not None and env_file.is_file():
            in_file = dict(dotenv_values(env_file))
        fields: dict[str, Any] = {}
        parts: dict[str, dict[str, Any]] = {"limits": {}, "pdf_limits": {}}
        for setting in SETTINGS:
            text = environ.get(setting.name)
            if text is None:
                text = in_file.get(setting.name)
            value = setting.read(setting.name, setting.default if text is None else text)
            part, _, name = setting.field.rpartition(".")
            (parts[part] if part else fields)[name] = value
        pdf = parts["pdf_limits"]
        pdf["cpu_seconds"] = max(1, int(pdf["seconds"]))  # the CPU limit takes whole seconds
        if not fields["database_url"]:
            fields["database_url"] = (
                f"sqlite:///{(fields['data_dir'] / 'archive.sqlite3').resolve()}"
            )
        # prometheus_client reads this one from the process environment, and so do we
        metrics_dir = environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        return cls(
            **fields,
            limits=Limits(**parts["limits"]),
            pdf_limits=PdfLimits(**pdf),
            metrics_dir=Path(metrics_dir) if metrics_dir else None,
        )

    def prepare_data_dir(self) -> None:
        """Create the data folder (and so the SQLite file's folder) if it is missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)


def setting(name: str) -> Setting:
    """The declaration of the variable ``name``."""
    return next(each for each in SETTINGS if each.name == name)


def default_help(name: str) -> str:
    """What ``--help`` says of an option whose default is the variable ``name``."""
    return f"[default: {name}, {setting(name).default}]"


def markdown() -> str:
    """The README's table of variables, and how a yes-or-no variable is written."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for each in SETTINGS:
        default = each.shown or f"`{each.default}`"
        rows.append(f"| `{each.name}` | {each.help} | {default} |")
    flags = ", ".join(f"`{yes}`/`{no}`" for yes, no in zip(TRUE, FALSE, strict=True))
    return "\n".join(rows) + (f"\n\nA yes-or-no variable takes any of {flags}, in any case.\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m server.settings --markdown")
    sys.stdout.write(markdown())
