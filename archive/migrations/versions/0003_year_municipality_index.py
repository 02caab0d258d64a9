"""Index documents by (fiscal_year, municipality): measure lists are read in that order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_year_municipality", "documents", ["fiscal_year", "municipality"])


def downgrade() -> None:
    op.drop_index("ix_documents_year_municipality", table_name="documents")
