"""On SQLite, ids are never handed out twice (AUTOINCREMENT), as on PostgreSQL.

Ids are a contract (#15): a replaced report keeps its document's and measures' ids, and the
change feed names deleted ones. SQLite gives a new row max(id) + 1, so deleting the newest
report handed its id, and its measures' ids, to the next one. The tables are rebuilt with
AUTOINCREMENT, and each table's counter starts above every id it ever held, the ones the
change feed names included. PostgreSQL's sequences never go back: nothing to do there.

SQLite cannot add AUTOINCREMENT to a table, and a table referenced by others cannot be
dropped while foreign keys are on without its rows' ON DELETE actions running (and the
migration runs in a transaction, where they cannot be switched off). So the rows are kept
in temporary tables, the tables dropped children first (nothing left to cascade into),
created again from their own DDL with the key made AUTOINCREMENT, and refilled parents first.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Parents before children; dropped in the reverse order.
TABLES = ("documents", "departments", "pillars", "measures", "measure_departments")
WITH_IDS = ("documents", "departments", "pillars", "measures")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    schema: dict[str, tuple[str, list[str]]] = {}
    for table in TABLES:
        ddl = connection.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
            {"t": table},
        ).scalar_one()
        indexes = list(
            connection.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
                    " AND sql IS NOT NULL"
                ),
                {"t": table},
            ).scalars()
        )
        if table in WITH_IDS:
            ddl = _autoincrement(table, ddl)
        schema[table] = (ddl, indexes)
    highest = _highest_ids(connection)
    for table in TABLES:
        connection.exec_driver_sql(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    for table in reversed(TABLES):
        connection.exec_driver_sql(f"DROP TABLE {table}")
    for table in TABLES:
        ddl, indexes = schema[table]
        connection.exec_driver_sql(ddl)
        for index in indexes:
            connection.exec_driver_sql(index)
        connection.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM keep_{table}")
        connection.exec_driver_sql(f"DROP TABLE keep_{table}")
    for table in WITH_IDS:
        top = max(highest.get(table, 0), _max_id(connection, table))
        connection.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        connection.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
            {"t": table, "seq": top},
        )


def _autoincrement(table: str, ddl: str) -> str:
    """The table's DDL with ``id`` as an AUTOINCREMENT key (SQLite allows it only on the
    column itself, not in a table constraint). A table that has it already (a store taken
    down to an earlier revision and up again) keeps its definition."""
    if "AUTOINCREMENT" in ddl:
        return ddl
    column = re.compile(r"(\n\s*)id INTEGER NOT NULL,")
    constraint = re.compile(rf"\n\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\),")
    if len(column.findall(ddl)) != 1 or len(constraint.findall(ddl)) != 1:
        raise RuntimeError(f"unexpected definition of {table}: {ddl}")
    ddl = constraint.sub("", ddl)
    return column.sub(
        rf"\1id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,", ddl
    )


def _max_id(connection: sa.Connection, table: str) -> int:
    found = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
    return int(found or 0)


def _highest_ids(connection: sa.Connection) -> dict[str, int]:
    """The highest document and measure ids the change feed names (rows since deleted)."""
    documents = measures = 0
    for document_id, listed in connection.execute(
        sa.text("SELECT document_id, measures FROM changes")
    ):
        documents = max(documents, document_id)
        found = json.loads(listed) if isinstance(listed, str) else listed
        for changes in found.values():
            measures = max([measures, *(measure_id for measure_id, _ in changes)])
    return {"documents": documents, "measures": measures}


def downgrade() -> None:
    pass  # AUTOINCREMENT is harmless to the revisions before; ids stay unique
