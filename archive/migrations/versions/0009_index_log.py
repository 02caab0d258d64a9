"""The index outbox becomes a log that several indexes follow (#19 point 1).

``index_tasks`` rows are no longer deleted once one index has applied them: each index keeps
its own position in the log (in its data folder), and the log is trimmed only behind a
retention window. ``archive_state.index_log_floor`` is the highest id trimmed so far: an
index positioned below it has missed changes and rebuilds from the store.

On SQLite the log's ids must never be handed out twice (a trimmed log would start again at
1, below every index's position), so the table is rebuilt with AUTOINCREMENT, its counter
at the highest id it holds. (Before this revision applied entries were deleted, so no index
has a position yet: ids handed out earlier matter to none.) PostgreSQL's sequences never go back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "archive_state",
        sa.Column("index_log_floor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE index_tasks_log ("
        "id INTEGER NOT NULL CONSTRAINT pk_index_tasks PRIMARY KEY AUTOINCREMENT, "
        "document_id INTEGER NOT NULL, "
        "action VARCHAR(10) NOT NULL, "
        "created_at DATETIME NOT NULL)"
    )
    op.execute(
        "INSERT INTO index_tasks_log SELECT id, document_id, action, created_at FROM index_tasks"
    )
    op.execute("DROP TABLE index_tasks")
    # The copy set the counter to the highest id (sqlite_sequence follows the rename).
    op.execute("ALTER TABLE index_tasks_log RENAME TO index_tasks")


def downgrade() -> None:
    # The log's AUTOINCREMENT stays on SQLite: ids that are never reused harm nothing.
    op.drop_column("archive_state", "index_log_floor")
