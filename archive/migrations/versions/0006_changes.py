"""The change feed: one row per committed change to a report (#15 point 5).

Existing reports each get a "stored" change listing their measures as added, in the order
they were stored, so an integrator that reads the feed from its start sees the whole
archive.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes = op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("document_id", sa.Integer, nullable=False),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("measures", sa.JSON, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    connection = op.get_bind()
    documents = connection.execute(
        sa.text("SELECT id, municipality, fiscal_year FROM documents ORDER BY id")
    ).all()
    measures: dict[int, list[list[object]]] = {}
    for document_id, measure_id, number in connection.execute(
        sa.text("SELECT document_id, id, number FROM measures ORDER BY document_id, number")
    ):
        measures.setdefault(document_id, []).append([measure_id, number])
    now = datetime.now(UTC)
    rows = [
        {
            "kind": "stored",
            "document_id": document_id,
            "municipality": municipality,
            "fiscal_year": fiscal_year,
            "measures": {"added": measures.get(document_id, []), "updated": [], "removed": []},
            "changed_at": now,
        }
        for document_id, municipality, fiscal_year in documents
    ]
    if rows:
        op.bulk_insert(changes, rows)


def downgrade() -> None:
    op.drop_table("changes")
