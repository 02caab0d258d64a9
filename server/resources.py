"""Opening what the settings point at: the relational store (migrated to the newest schema),
and the index's searcher."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from archive import db
from archive.errors import StoreProblem
from index.query import DEFAULT_SYNONYMS, read_synonyms, synonym_table
from index.search import Results, Searcher, SearchOptions
from server.settings import Settings


class StoreUnavailable(StoreProblem, RuntimeError):
    """The store cannot be opened or migrated; the message is one line without secrets."""


def open_store(settings: Settings) -> Engine:
    """An engine on the store, whose schema is brought to the newest migration first."""
    settings.prepare_data_dir()
    engine = db.create_store_engine(
        settings.database_url,
        statement_timeout=settings.statement_timeout,
        lock_timeout=settings.lock_timeout,
    )
    try:
        db.upgrade(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        url = engine.url.render_as_string(hide_password=True)
        reason = (str(getattr(error, "orig", None) or error).splitlines() or ["unknown error"])[0]
        raise StoreUnavailable(f"cannot open the store at {url}: {reason}") from None
    return engine


def open_searcher(settings: Settings, observe: Callable[[float], None] | None = None) -> Searcher:
    """A searcher on the index, with the default synonyms and the data folder's own; with
    ``observe``, each search's seconds are reported to it (the server's metrics)."""
    groups = list(DEFAULT_SYNONYMS)
    if settings.synonyms_file.is_file():
        groups += read_synonyms(settings.synonyms_file.read_text(encoding="utf-8"))
    if observe is not None:
        return TimedSearcher(settings.index_dir, synonym_table(groups), observe)
    return Searcher(settings.index_dir, synonym_table(groups))


class TimedSearcher(Searcher):
    """A searcher that reports each search's duration in seconds to ``observe``."""

    def __init__(
        self, root: Path, synonyms: dict[str, tuple[str, ...]], observe: Callable[[float], None]
    ) -> None:
        super().__init__(root, synonyms)
        self.observe = observe

    def search(self, query: str, options: SearchOptions | None = None) -> Results:
        started = time.perf_counter()
        try:
            return super().search(query, options)
        finally:
            self.observe(time.perf_counter() - started)
