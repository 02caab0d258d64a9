"""Migrations: the newest migration builds exactly the tables the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from archive import db
from archive.models import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert db.is_current(engine)


def test_downgrade_to_nothing_and_back(engine: Engine) -> None:
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(engine)
    assert {"documents", "measures", "departments"} <= set(inspect(engine).get_table_names())


def test_upgrade_keeps_data_stored_under_the_first_schema(engine: Engine) -> None:
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO documents (municipality, fiscal_year, title, source_name, sha256,"
                " encoding, raw_text, text, ingested_at) VALUES ('日立市', 2020, 't', 's',"
                " 'abc', 'utf-8', 'r', 't', '2026-11-24 00:00:00+00:00')"
            )
        )
    db.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT municipality FROM documents")).scalar() == "日立市"
    assert "index_tasks" in inspect(engine).get_table_names()
