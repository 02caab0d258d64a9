"""Documents carry their local government code, prefecture and layout; measures a grade.

Issue 16: every Japanese local government from the official list, layouts as data, and a
grade or evaluation beside the next-year status. Existing documents keep a null code (and
prefecture) until re-ingested or filled in by ``plan-archive`` from the list; their layout
is Hitachi's, the only one read before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("municipality_code", sa.String(6), nullable=True))
        batch.add_column(sa.Column("prefecture", sa.String(10), nullable=True))
        batch.add_column(sa.Column("layout", sa.String(40), nullable=True))
        batch.create_index("ix_documents_municipality_code", ["municipality_code"])
        batch.create_index("ix_documents_prefecture", ["prefecture"])
    with op.batch_alter_table("measures") as batch:
        batch.add_column(sa.Column("grade", sa.String(40), nullable=True))
    op.execute(
        "UPDATE documents SET layout = 'hitachi' WHERE id IN (SELECT document_id FROM measures)"
    )


def downgrade() -> None:
    with op.batch_alter_table("measures") as batch:
        batch.drop_column("grade")
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_prefecture")
        batch.drop_index("ix_documents_municipality_code")
        batch.drop_column("layout")
        batch.drop_column("prefecture")
        batch.drop_column("municipality_code")
