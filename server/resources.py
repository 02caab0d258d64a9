"""Opening what the settings point at: the relational store (migrated to the newest schema)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from archive import db
from index.query import DEFAULT_SYNONYMS, read_synonyms, synonym_table
from index.search import Searcher
from server.settings import Settings


class StoreUnavailable(RuntimeError):
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


def open_searcher(settings: Settings) -> Searcher:
    """A searcher on the index, with the default synonyms and the data folder's own."""
    groups = list(DEFAULT_SYNONYMS)
    if settings.synonyms_file.is_file():
        groups += read_synonyms(settings.synonyms_file.read_text(encoding="utf-8"))
    return Searcher(settings.index_dir, synonym_table(groups))
