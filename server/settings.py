"""Configuration: one frozen ``Settings`` built once from the environment.

Each value comes from the process environment, then from a ``.env`` file, then from the
default. Nothing else in plan-archive reads its configuration from ``os.environ`` (the PDF
reader only passes PATH and the locale on to its child, and ``plan-archive serve`` hands
its workers the folder of their connection counts, server/balance.py); tests pass a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from archive.pdf import PdfLimits
from schema.limits import Limits


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


def _nice(value: float) -> int:
    if not value.is_integer() or value > 19:
        raise SettingsError("PLAN_ARCHIVE_INGEST_NICE must be a whole number from 0 to 19")
    return int(value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    api_tokens: tuple[str, ...] = ()
    graphiql: bool = True
    limits: Limits = field(default_factory=Limits)
    max_body_bytes: int = 1 << 20  # 1 MiB for a GraphQL request
    max_upload_bytes: int = 50 << 20  # 50 MiB for an uploaded report
    request_timeout: float = 10.0  # until the answer starts
    worker_threads: int = 4  # GraphQL requests working at once in one server process
    stream_timeout: float = 300.0  # for the whole of a streamed answer (an export)
    max_export_rows: int = 50_000  # rows in one export over HTTP
    max_concurrent_exports: int = 2  # exports sent at once by one server process
    response_cache_bytes: int = 64 << 20  # 0 turns the response cache off
    statement_timeout: float = 30.0  # seconds, PostgreSQL
    lock_timeout: float = 30.0  # seconds a writer waits for another (both stores)
    pdf_limits: PdfLimits = field(default_factory=PdfLimits)  # reading a PDF, per file
    metrics: bool = True  # serve /metrics (docs/operations.md)
    log_format: str = "json"  # "json" or "text" lines on stderr, under plan-archive serve
    # prometheus_client's multiprocess folder, set by `plan-archive serve` for its workers
    metrics_dir: Path | None = None
    # Slow and idle clients (server/connections.py): seconds a connection has to send a whole
    # request head, and connections one server process holds before it answers 503.
    header_timeout: float = 10.0
    max_connections: int = 1000
    # How much `plan-archive ingest` lowers its CPU priority, so a server answers first.
    ingest_nice: int = 10
    # The index log (#19): seconds it keeps an entry (an index further behind rebuilds), and
    # how often a server checks it for changes made elsewhere (another node, the CLI).
    index_log_retention: float = 7 * 24 * 3600.0
    index_poll: float = 1.0

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
        file_values: dict[str, str | None] = {}
        if env_file is not None and env_file.is_file():
            file_values = dict(dotenv_values(env_file))

        def value(name: str, default: str) -> str:
            if name in environ:
                return environ[name]
            from_file = file_values.get(name)
            return from_file if from_file is not None else default

        data_dir = Path(value("PLAN_ARCHIVE_DATA_DIR", "./var")).expanduser()
        database_url = value("PLAN_ARCHIVE_DATABASE_URL", "").strip()
        if not database_url:
            database_url = f"sqlite:///{(data_dir / 'archive.sqlite3').resolve()}"
        elif "://" not in database_url:
            raise SettingsError(
                "PLAN_ARCHIVE_DATABASE_URL must be a SQLAlchemy URL such as "
                "postgresql+psycopg://user@host/db"
            )
        tokens = tuple(
            t.strip() for t in value("PLAN_ARCHIVE_API_TOKENS", "").split(",") if t.strip()
        )

        def number(name: str, default: float, zero: bool = False) -> float:
            raw = value(name, str(default)).strip()
            try:
                parsed = float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, not {raw!r}") from None
            if parsed < 0 or (parsed == 0 and not zero):
                raise SettingsError(f"{name} must be {'zero or more' if zero else 'above zero'}")
            return parsed

        def whole(name: str, default: int) -> int:
            parsed = number(name, default)
            if not parsed.is_integer():
                raise SettingsError(f"{name} must be a whole number")
            return int(parsed)

        graphiql = value("PLAN_ARCHIVE_GRAPHIQL", "true").strip().lower()
        if graphiql not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError("PLAN_ARCHIVE_GRAPHIQL must be true or false")
        metrics = value("PLAN_ARCHIVE_METRICS", "on").strip().lower()
        if metrics not in ("on", "off"):
            raise SettingsError("PLAN_ARCHIVE_METRICS must be on or off")
        log_format = value("PLAN_ARCHIVE_LOG_FORMAT", "json").strip().lower()
        if log_format not in ("json", "text"):
            raise SettingsError("PLAN_ARCHIVE_LOG_FORMAT must be json or text")
        metrics_dir = environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            api_tokens=tokens,
            graphiql=graphiql in ("true", "1", "yes"),
            limits=Limits(
                max_depth=int(number("PLAN_ARCHIVE_MAX_QUERY_DEPTH", 8)),
                max_aliases=int(number("PLAN_ARCHIVE_MAX_ALIASES", 15)),
                max_tokens=int(number("PLAN_ARCHIVE_MAX_TOKENS", 2000)),
                max_page_size=int(number("PLAN_ARCHIVE_MAX_PAGE_SIZE", 100)),
                max_cost=int(number("PLAN_ARCHIVE_MAX_COST", 25_000)),
            ),
            max_body_bytes=int(number("PLAN_ARCHIVE_MAX_BODY_BYTES", 1 << 20)),
            max_upload_bytes=int(number("PLAN_ARCHIVE_MAX_UPLOAD_BYTES", 50 << 20)),
            request_timeout=number("PLAN_ARCHIVE_REQUEST_TIMEOUT", 10.0),
            worker_threads=whole("PLAN_ARCHIVE_WORKER_THREADS", 4),
            stream_timeout=number("PLAN_ARCHIVE_STREAM_TIMEOUT", 300.0),
            max_export_rows=int(number("PLAN_ARCHIVE_MAX_EXPORT_ROWS", 50_000)),
            max_concurrent_exports=int(number("PLAN_ARCHIVE_MAX_CONCURRENT_EXPORTS", 2)),
            statement_timeout=number("PLAN_ARCHIVE_STATEMENT_TIMEOUT", 30.0),
            lock_timeout=number("PLAN_ARCHIVE_LOCK_TIMEOUT", 30.0),
            pdf_limits=PdfLimits(
                seconds=number("PLAN_ARCHIVE_PDF_TIMEOUT", 60.0),
                cpu_seconds=max(1, int(number("PLAN_ARCHIVE_PDF_TIMEOUT", 60.0))),
                memory_bytes=int(number("PLAN_ARCHIVE_PDF_MEMORY_MB", 1024)) << 20,
            ),
            response_cache_bytes=int(number("PLAN_ARCHIVE_RESPONSE_CACHE_MB", 64, zero=True)) << 20,
            metrics=metrics == "on",
            log_format=log_format,
            metrics_dir=Path(metrics_dir) if metrics_dir else None,
            header_timeout=number("PLAN_ARCHIVE_HEADER_TIMEOUT", 10.0),
            max_connections=max(1, int(number("PLAN_ARCHIVE_MAX_CONNECTIONS", 1000))),
            ingest_nice=_nice(number("PLAN_ARCHIVE_INGEST_NICE", 10, zero=True)),
            index_log_retention=number("PLAN_ARCHIVE_INDEX_LOG_RETENTION", 7 * 24 * 3600.0),
            index_poll=number("PLAN_ARCHIVE_INDEX_POLL", 1.0),
        )

    def prepare_data_dir(self) -> None:
        """Create the data folder (and so the SQLite file's folder) if it is missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
