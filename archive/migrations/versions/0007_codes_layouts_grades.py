"""Documents carry their local government code, prefecture and layout; measures a grade.

Issue 16: every Japanese local government from the official list, layouts as data, and a
grade or evaluation beside the next-year status. Existing documents get the code and
prefecture of their municipality when the official list (``archive/data``) holds exactly one
government of that name; a homonym (府中市, 伊達市) or a name the list does not know keeps a null
code until re-ingested. Their layout is Hitachi's, the only one read before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from archive.municipalities import all_municipalities

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
    _fill_codes()


def _fill_codes() -> None:
    """Codes and prefectures of the stored names the list holds exactly once."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    for municipality in all_municipalities():
        by_name.setdefault(municipality.name, []).append(
            (municipality.code, municipality.prefecture)
        )
    connection = op.get_bind()
    names = connection.execute(
        sa.text("SELECT DISTINCT municipality FROM documents WHERE municipality_code IS NULL")
    ).scalars()
    unique = [(name, by_name[name][0]) for name in names if len(by_name.get(name, ())) == 1]
    if unique:
        connection.execute(
            sa.text(
                "UPDATE documents SET municipality_code = :code, prefecture = :prefecture"
                " WHERE municipality = :name AND municipality_code IS NULL"
            ),
            [{"name": n, "code": c, "prefecture": p} for n, (c, p) in unique],
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
