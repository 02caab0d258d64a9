"""The first tables: documents, pillars, measures, departments.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("key", name=op.f("uq_departments_key")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fiscal_year BETWEEN 1900 AND 2200", name=op.f("ck_documents_fiscal_year_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("municipality", "fiscal_year", name="uq_documents_municipality"),
        sa.UniqueConstraint("sha256", name=op.f("uq_documents_sha256")),
    )
    op.create_index(op.f("ix_documents_fiscal_year"), "documents", ["fiscal_year"], unique=False)
    op.create_table(
        "pillars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_pillars_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pillars")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_pillars_document_id")),
    )
    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("pillar_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("achievement", sa.Text(), nullable=False),
        sa.Column("departments_others", sa.Boolean(), nullable=False),
        sa.Column("carry_over_tag", sa.String(length=40), nullable=True),
        sa.Column("carry_over_status", sa.String(length=10), nullable=True),
        sa.Column("carry_over_year", sa.Integer(), nullable=True),
        sa.Column("first_line", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_measures_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pillar_id"],
            ["pillars.id"],
            name=op.f("fk_measures_pillar_id_pillars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_measures_document_id")),
    )
    op.create_index(op.f("ix_measures_pillar_id"), "measures", ["pillar_id"], unique=False)
    op.create_table(
        "measure_departments",
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_measure_departments_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measures.id"],
            name=op.f("fk_measure_departments_measure_id_measures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measure_id", "department_id", name=op.f("pk_measure_departments")),
    )
    op.create_index(
        op.f("ix_measure_departments_department_id"),
        "measure_departments",
        ["department_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_measure_departments_department_id"), table_name="measure_departments")
    op.drop_table("measure_departments")
    op.drop_index(op.f("ix_measures_pillar_id"), table_name="measures")
    op.drop_table("measures")
    op.drop_table("pillars")
    op.drop_index(op.f("ix_documents_fiscal_year"), table_name="documents")
    op.drop_table("documents")
    op.drop_table("departments")
