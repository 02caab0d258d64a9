"""The store's tables: Document, Pillar (体系), Measure (推進事項), Department (担当部課所).

A document is one municipality's report for one fiscal year; the constraints make a second
copy of it, of a measure number or of a department impossible. Relationships load only when
asked (``lazy="raise"``), so a hidden per-row query fails loudly instead of slowing a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("municipality", "fiscal_year", name="uq_documents_municipality"),
        Index("ix_documents_year_municipality", "fiscal_year", "municipality"),
        CheckConstraint("fiscal_year BETWEEN 1900 AND 2200", name="fiscal_year_range"),
        # Ids are never handed out twice, on SQLite too (migration 0008): they are a contract.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(100))
    # The 6-digit local government code (全国地方公共団体コード, check digit included) and
    # the prefecture, from the official list (archive/municipalities); null for a report
    # stored before the list was used whose name the list does not know.
    municipality_code: Mapped[str | None] = mapped_column(String(6), index=True)
    prefecture: Mapped[str | None] = mapped_column(String(10), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    # The layout profile the reader used ("hitachi", …; "spreadsheet"); null: none fitted.
    layout: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    encoding: Mapped[str] = mapped_column(String(20))
    # The texts are large and rarely wanted: they load only when asked for with undefer() (or
    # document_texts_by_ids), and touching them otherwise raises instead of a hidden query.
    raw_text: Mapped[str] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    text: Mapped[str] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    pillars: Mapped[list[Pillar]] = relationship(
        back_populates="document", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    measures: Mapped[list[Measure]] = relationship(
        back_populates="document",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Measure.number",
    )


class Pillar(Base):
    __tablename__ = "pillars"
    __table_args__ = (UniqueConstraint("document_id", "number"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    first_line: Mapped[int]
    last_line: Mapped[int]

    document: Mapped[Document] = relationship(back_populates="pillars", lazy="raise")


class Measure(Base):
    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("document_id", "number"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    pillar_id: Mapped[int | None] = mapped_column(
        ForeignKey("pillars.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(8))  # as printed, zero-padded: "01"
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    achievement: Mapped[str] = mapped_column(Text)
    departments_others: Mapped[bool] = mapped_column(Boolean, default=False)  # 外
    carry_over_tag: Mapped[str | None] = mapped_column(String(40))  # "[R3継続]" as printed
    carry_over_status: Mapped[str | None] = mapped_column(String(10))  # 継続, 完了, 新規, 廃止…
    carry_over_year: Mapped[int | None]  # the year the tag names, 2021 for R3
    # An evaluation as printed, beside the next-year status: S/A/B/C, ○△×, 達成/概ね達成…
    grade: Mapped[str | None] = mapped_column(String(40))
    first_line: Mapped[int]
    last_line: Mapped[int]
    # Raw line ranges each field was read from: {"title": [6, 6], "achievement": [17, 23], …}
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="measures", lazy="raise")
    pillar: Mapped[Pillar | None] = relationship(lazy="raise")
    department_links: Mapped[list[MeasureDepartment]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeasureDepartment.position",
    )


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # as first printed
    key: Mapped[str] = mapped_column(String(200), unique=True)  # NFKC, no spaces


class MeasureDepartment(Base):
    """One department of a measure, in the order the report lists them."""

    __tablename__ = "measure_departments"

    measure_id: Mapped[int] = mapped_column(
        ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int]

    department: Mapped[Department] = relationship(lazy="raise")


class IndexTask(Base):
    """One entry of the index log: a document the full-text index must take again (#19).

    Written in the same transaction as the change it follows (a transactional outbox), under
    the store's writer lock, so ids increase in commit order. Every index follows the log
    from its own position (kept in its data folder) and applies an entry only after the
    store committed it; entries are trimmed only behind a retention window
    (``queries.trim_index_log``), never when one index has applied them.
    """

    __tablename__ = "index_tasks"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int]  # no foreign key: a "drop" outlives its document
    action: Mapped[str] = mapped_column(String(10))  # "index" or "drop"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ArchiveState(Base):
    """One row whose ``version`` every write transaction advances (see ``db.writer``), so a
    cache keyed on it never serves an answer from before a change."""

    __tablename__ = "archive_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    # The highest index log id trimmed: an index positioned below it rebuilds (#19 point 1).
    index_log_floor: Mapped[int] = mapped_column(BigInteger, server_default="0")


class MeasureLink(Base):
    """A curator's word on one measure in another year: its self there is ``other_number``,
    or (null) it has none. Keys, not row ids, so a re-ingest keeps it (``archive/curation``)."""

    __tablename__ = "measure_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality: Mapped[str] = mapped_column(String(100))
    fiscal_year: Mapped[int]
    number: Mapped[str] = mapped_column(String(8))
    other_fiscal_year: Mapped[int]
    other_number: Mapped[str | None] = mapped_column(String(8))


class DepartmentRename(Base):
    """A curator's word that ``old_name`` is called ``new_name`` from ``from_year`` on."""

    __tablename__ = "department_renames"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_name: Mapped[str] = mapped_column(Text)
    new_name: Mapped[str] = mapped_column(Text)
    from_year: Mapped[int]


class Change(Base):
    """One committed change to the archive's reports, for integrators that sync (the change
    feed, #15): a document stored, replaced or deleted, with the measures it added, updated
    and removed (``{"added": [[id, "01"], …], "updated": […], "removed": […]}``).

    Written in the transaction of the change itself. Every write transaction holds the
    store's writer lock (SQLite's, or PostgreSQL's advisory lock) from its first statement
    to its commit, so ids are handed out in commit order: a reader that has seen change
    ``n`` will never see a change below ``n`` appear later (decision 0012).
    """

    __tablename__ = "changes"
    # AUTOINCREMENT on SQLite: an id is never handed out twice, even after the newest went.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # "stored", "replaced" or "deleted"
    document_id: Mapped[int]  # no foreign key: a deletion outlives its document
    municipality: Mapped[str] = mapped_column(String(100))
    fiscal_year: Mapped[int]
    measures: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
