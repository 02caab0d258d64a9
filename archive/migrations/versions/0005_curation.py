"""Curators' corrections: measure links across years and department renames.

They name measures by (municipality, fiscal year, number) and departments by name, not by
row id, so they survive a report being ingested again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measure_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("number", sa.String(8), nullable=False),
        sa.Column("other_fiscal_year", sa.Integer, nullable=False),
        sa.Column("other_number", sa.String(8), nullable=True),  # null: no self that year
    )
    op.create_table(
        "department_renames",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("old_name", sa.Text, nullable=False),
        sa.Column("new_name", sa.Text, nullable=False),
        sa.Column("from_year", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("department_renames")
    op.drop_table("measure_links")
