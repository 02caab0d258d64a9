"""The change feed (#15 point 5): what was stored, replaced and deleted, in commit order, so
an integrator syncs by asking for what came after the cursor it kept."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import strawberry

from archive import models, queries
from schema.context import Info
from schema.ids import global_id
from schema.pagination import PageInfo, keyset_page
from schema.types import Document

_KIND = "change"


@strawberry.enum(description="What happened to a report.")
class ChangeKind(enum.Enum):
    STORED = "stored"
    REPLACED = "replaced"
    DELETED = "deleted"


@strawberry.enum(description="What a change did to one measure.")
class MeasureChangeKind(enum.Enum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


@strawberry.type(description="One measure a change added, updated or removed.")
class MeasureChange:
    kind: MeasureChangeKind
    # Not "id": clients' caches (Apollo, Relay) key objects by id, and this object is not
    # the measure; it would be merged with it and with every other change of the measure.
    measure_id: strawberry.ID = strawberry.field(
        description="The measure's global ID; a removed measure's names nothing any more."
    )
    number: str = strawberry.field(description='As printed, zero-padded: "01".')


@strawberry.type(
    description="A report stored, replaced (its measures updated in place: same ids) or "
    "deleted. A replacement lists the measures whose content or source lines changed."
)
class Change:
    kind: ChangeKind
    document_id: strawberry.ID = strawberry.field(
        description="The document's global ID (kept across replacements; names nothing "
        "once deleted)."
    )
    municipality: str
    fiscal_year: int
    changed_at: datetime = strawberry.field(description="ISO 8601 in UTC, with its offset.")
    measures: list[MeasureChange] = strawberry.field(
        description="Added, then updated, then removed; each by number."
    )

    @strawberry.field(description="The document as it is now; null once it is deleted.")
    async def document(self, info: Info) -> Document | None:
        found = await info.context.loaders.document.load(self.document_number)
        return Document.from_row(found) if found is not None else None

    document_number: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Change) -> Change:
        measures = [
            MeasureChange(
                kind=kind,
                measure_id=global_id("Measure", measure_id),
                number=number,
            )
            for kind in MeasureChangeKind
            for measure_id, number in row.measures.get(kind.value, [])
        ]
        changed_at = row.changed_at
        return cls(
            kind=ChangeKind(row.kind),
            document_id=global_id("Document", row.document_id),
            document_number=row.document_id,
            municipality=row.municipality,
            fiscal_year=row.fiscal_year,
            # SQLite gives the stored UTC time back without its zone; PostgreSQL with it.
            changed_at=changed_at.replace(tzinfo=UTC)
            if changed_at.tzinfo is None
            else changed_at.astimezone(UTC),
            measures=measures,
        )


@strawberry.type
class ChangeEdge:
    cursor: str
    node: Change


@strawberry.type(description="A page of the change feed.")
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: PageInfo


def change_feed(
    info: Info,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> ChangeConnection:
    """Changes after the cursor ``after`` (from the start without one), oldest first; with
    ``last``, the newest ones (before ``before``)."""
    page, page_info = keyset_page(
        _KIND,
        (int,),
        first,
        after,
        last,
        before,
        info.context.limits.max_page_size,
        lambda a, b, limit, backward: queries.change_page(
            info.context.db,
            after=a[0] if a else None,
            before=b[0] if b else None,
            limit=limit,
            backward=backward,
        ),
        lambda row: (row.id,),
    )
    return ChangeConnection(
        edges=[ChangeEdge(cursor=c, node=Change.from_row(row)) for c, row in page],
        page_info=page_info,
    )
