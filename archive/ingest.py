"""Ingesting one file: bytes to a checked, parsed document, then into the store.

``prepare_document`` does everything that can refuse a file before the store is touched
(decoding, parsing, the fiscal year and municipality), so a refused file costs nothing.
``store_document`` writes inside the caller's transaction: one transaction per file, so a
file either lands whole or not at all.
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from archive import faults
from archive.decode import DecodedText, DecodeError, decode_document, make_storable, storable
from archive.errors import DocumentRefused
from archive.layouts import UnknownLayout
from archive.models import (
    Change,
    Department,
    Document,
    IndexTask,
    Measure,
    MeasureDepartment,
    Pillar,
)
from archive.municipalities import Municipality, MunicipalityError
from archive.municipalities import find as find_municipality
from archive.municipalities import lookup as lookup_municipality
from archive.parse import ParsedReport, department_key, opening_lines, parse_report
from archive.pdf import PdfLimits, extract_text, is_pdf, page_of, page_starts
from archive.sheets import SheetLimits, SheetMapping, is_spreadsheet_name, is_workbook, read_sheet

MIN_FISCAL_YEAR, MAX_FISCAL_YEAR = 1900, 2200


class Outcome(enum.StrEnum):
    STORED = "stored"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"
    UNSTRUCTURED = "archived without structure"


@dataclass(frozen=True)
class PreparedDocument:
    source_name: str
    sha256: str
    encoding: str
    raw_text: str
    report: ParsedReport
    municipality: str
    fiscal_year: int
    municipality_code: str | None = None  # from the official list (archive/municipalities)
    prefecture: str | None = None


@dataclass(frozen=True)
class MeasureChange:
    id: int
    number: str


@dataclass(frozen=True)
class MeasureChanges:
    """Measures a store or a replacement added, updated (content changed) and removed."""

    added: tuple[MeasureChange, ...]
    updated: tuple[MeasureChange, ...]
    removed: tuple[MeasureChange, ...]


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    document_id: int
    municipality: str
    fiscal_year: int
    measure_count: int
    # What this ingest did to each measure, for whoever mirrors the store (the change feed).
    measures: MeasureChanges = field(default_factory=lambda: MeasureChanges((), (), ()))
    layout: str | None = None  # the layout profile that read it (archive/layouts.py)

    def describe(self) -> str:
        what = f"{self.municipality} {self.fiscal_year}"
        if self.outcome is Outcome.UNSTRUCTURED:
            return f"archived without structure ({what}): no layout profile found its measures"
        layout = f", layout {self.layout}" if self.layout else ""
        return f"{self.outcome.value} ({what}, {self.measure_count} measures{layout})"


def prepare_document(
    data: bytes,
    source_name: str,
    *,
    fiscal_year: int | None = None,
    municipality: str | None = None,
    strict: bool = False,
    pdf_limits: PdfLimits | None = None,
    layout: str | None = None,
    sheet_mapping: SheetMapping | None = None,
    sheet_limits: SheetLimits | None = None,
) -> PreparedDocument:
    """Decode and parse ``data``; raise ``DocumentRefused`` with a one-line reason.

    ``layout`` names the layout profile to read it with; None: the one that fits best.

    A PDF is read to text in a limited child process (``archive.pdf``); its encoding is
    recorded as ``pdf`` and its text keeps the page breaks, so provenance can name pages.
    A spreadsheet (.xlsx, .csv) is read by ``archive.sheets``, ``sheet_mapping`` naming its
    columns; its text has one line per sheet row.
    """
    if source_name.lower().endswith(".pdf") and not is_pdf(data):
        raise DocumentRefused(source_name, "named .pdf but is not a PDF (no %PDF- header)")
    report: ParsedReport | None = None
    try:
        if is_spreadsheet_name(source_name) or is_workbook(data):
            sheet = read_sheet(data, source_name, sheet_mapping, sheet_limits)
            decoded, report = DecodedText(sheet.raw_text, sheet.encoding), sheet.report
        elif is_pdf(data):
            decoded = DecodedText(extract_text(data, pdf_limits or PdfLimits()), "pdf")
        else:
            decoded = decode_document(data)
    except DecodeError as error:
        raise DocumentRefused(source_name, str(error)) from None
    faults.point("decode")
    if report is None:
        try:
            report = parse_report(decoded.text, layout)
        except UnknownLayout as error:
            raise DocumentRefused(source_name, str(error)) from None
    if strict and not report.measures:
        raise DocumentRefused(
            source_name,
            f"no measures found by {f'layout {layout}' if layout else 'any layout profile'} "
            "(refused by --strict)",
        )
    repeated = [n for n, count in Counter(m.number for m in report.measures).items() if count > 1]
    if repeated:
        raise DocumentRefused(source_name, f"measure No {repeated[0]} appears more than once")
    year = fiscal_year if fiscal_year is not None else report.fiscal_year
    if year is None:
        raise DocumentRefused(
            source_name, "cannot tell the fiscal year from the text; pass --fiscal-year"
        )
    if not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        raise DocumentRefused(source_name, f"fiscal year {year} is not a Western year")
    if municipality is not None and not municipality.strip():
        raise DocumentRefused(source_name, "--municipality is empty")
    if municipality is not None and not storable(municipality):
        raise DocumentRefused(
            source_name, "--municipality holds a NUL or bytes that are not UTF-8 text"
        )
    place = _municipality_of(report, municipality, source_name)
    return PreparedDocument(
        # Only a name to show: a NUL (an uploaded file's name may hold one) is dropped, and a
        # file name's bytes that were not UTF-8 become U+FFFD, rather than refuse the report.
        source_name=make_storable(source_name),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=decoded.encoding,
        raw_text=decoded.text,
        report=report,
        municipality=place.name,
        fiscal_year=year,
        municipality_code=place.code,
        prefecture=place.prefecture,
    )


def _municipality_of(report: ParsedReport, given: str | None, source_name: str) -> Municipality:
    """The government of the official list that ``--municipality`` (a name or code) or else
    the report's title or opening lines name; refused when unknown or ambiguous."""
    opening = opening_lines(report.lines)
    try:
        if given is not None:
            return lookup_municipality(given.strip(), f"{report.title}\n{opening}")
        found = find_municipality(report.title, opening)
        if found is None and report.municipality:
            # A reader's own finding where the text names none: a sheet's name, a file name.
            found = lookup_municipality(report.municipality, f"{report.title}\n{opening}")
    except MunicipalityError as error:
        raise DocumentRefused(source_name, str(error)) from None
    if found is None:
        raise DocumentRefused(
            source_name, "cannot tell the municipality from the title; pass --municipality"
        )
    return found


def store_document(db: Session, prepared: PreparedDocument) -> IngestResult:
    """Write ``prepared`` into the store, replacing an older version of the same report.

    A replacement keeps identities: the document keeps its id, and a measure (or pillar) whose
    number is in both versions keeps its id with the new content, so what an integrator
    stored about it still names it (#15). Measures new in this version are added, those gone
    from it deleted."""
    report = prepared.report
    same_bytes = db.scalars(select(Document).where(Document.sha256 == prepared.sha256)).first()
    if same_bytes is not None:
        if (same_bytes.municipality, same_bytes.fiscal_year) != (
            prepared.municipality,
            prepared.fiscal_year,
        ):
            raise DocumentRefused(
                prepared.source_name,
                f"the same file is already stored as {same_bytes.municipality} "
                f"{same_bytes.fiscal_year}; to move it, first run plan-archive delete "
                f"--municipality {same_bytes.municipality} --fiscal-year {same_bytes.fiscal_year}",
            )
        return IngestResult(
            Outcome.UNCHANGED,
            same_bytes.id,
            same_bytes.municipality,
            same_bytes.fiscal_year,
            measure_count=len(report.measures),
            layout=report.layout,
        )
    outcome = Outcome.STORED if report.measures else Outcome.UNSTRUCTURED
    old_id, old_code, old_prefecture = db.execute(
        select(Document.id, Document.municipality_code, Document.prefecture).where(
            Document.municipality == prepared.municipality,
            Document.fiscal_year == prepared.fiscal_year,
        )
    ).first() or (None, None, None)
    if old_code is not None and old_code != prepared.municipality_code:
        # A homonym (府中市 of Tokyo and of Hiroshima): never let one replace the other.
        raise DocumentRefused(
            prepared.source_name,
            f"{prepared.municipality} {prepared.fiscal_year} is stored for {old_prefecture} "
            f"({old_code}), another government of the same name; the archive keeps one report "
            "per name and year",
        )
    if old_id is not None and not report.measures:
        stored_measures = db.scalar(
            select(func.count()).select_from(Measure).where(Measure.document_id == old_id)
        )
        if stored_measures:
            # A text without structure is more likely a layout the reader does not know (or
            # another document) than a new version: never let it wipe a structured report.
            raise DocumentRefused(
                prepared.source_name,
                f"{prepared.municipality} {prepared.fiscal_year} is stored with "
                f"{stored_measures} measures and this file has none; it would replace them "
                "with a text without structure",
            )
    content = {
        "title": report.title,
        "source_name": prepared.source_name,
        "sha256": prepared.sha256,
        "encoding": prepared.encoding,
        "raw_text": prepared.raw_text,
        "text": report.text,
        "ingested_at": datetime.now(UTC),
        "municipality_code": prepared.municipality_code,
        "prefecture": prepared.prefecture,
        "layout": report.layout,
    }
    if old_id is None:
        document = Document(
            municipality=prepared.municipality, fiscal_year=prepared.fiscal_year, **content
        )
        db.add(document)
        db.flush()
        document_id = document.id
    else:
        document_id = old_id
        db.execute(
            update(Document).where(Document.id == old_id).values(**content),
            execution_options={"synchronize_session": False},
        )
        outcome = Outcome.REPLACED
    pillar_ids = _store_pillars(db, document_id, report)
    changes = _store_measures(db, document_id, prepared, pillar_ids)
    if old_id is not None:
        # After the measures: a vanished pillar's measures are gone or point elsewhere now.
        db.execute(
            delete(Pillar).where(
                Pillar.document_id == document_id, Pillar.id.not_in(list(pillar_ids.values()))
            )
        )
        _delete_orphan_departments(db)
    db.add(IndexTask(document_id=document_id, action="index", created_at=datetime.now(UTC)))
    _record_change(
        db,
        "replaced" if old_id is not None else "stored",
        document_id,
        prepared.municipality,
        prepared.fiscal_year,
        changes,
    )
    db.flush()
    faults.point("store-commit")
    return IngestResult(
        outcome,
        document_id,
        prepared.municipality,
        prepared.fiscal_year,
        measure_count=len(report.measures),
        measures=changes,
        layout=report.layout,
    )


def _store_pillars(db: Session, document_id: int, report: ParsedReport) -> dict[int, int]:
    """Pillar ids by number: a number already stored keeps its row (and id)."""
    stored = dict(
        db.execute(select(Pillar.number, Pillar.id).where(Pillar.document_id == document_id)).all()
    )
    ids: dict[int, int] = {}
    new: dict[int, Pillar] = {}
    for parsed in report.pillars:
        values = {"title": parsed.title, "first_line": parsed.first, "last_line": parsed.last}
        if parsed.number in stored:
            ids[parsed.number] = stored[parsed.number]
            db.execute(
                update(Pillar).where(Pillar.id == stored[parsed.number]).values(**values),
                execution_options={"synchronize_session": False},
            )
        else:
            new[parsed.number] = Pillar(document_id=document_id, number=parsed.number, **values)
    db.add_all(new.values())
    db.flush()  # one batch, which gives the new pillars their ids
    return ids | {number: pillar.id for number, pillar in new.items()}


def _store_measures(
    db: Session, document_id: int, prepared: PreparedDocument, pillar_ids: dict[int, int]
) -> MeasureChanges:
    """Measures of ``prepared`` in place of the stored ones, matched by number; returns which
    were added, updated (content or departments differ) and removed."""
    report = prepared.report
    departments = _departments_by_key(db, [name for m in report.measures for name in m.departments])
    db.flush()
    starts = page_starts(prepared.raw_text) if prepared.encoding == "pdf" else None

    def span(first: int, last: int) -> list[int]:
        """Lines ``[first, last]``; for a PDF also its pages ``[.., .., first, last]``."""
        if starts is None:
            return [first, last]
        return [first, last, page_of(starts, first), page_of(starts, last)]

    columns = [getattr(Measure, name) for name in _MEASURE_CONTENT]
    stored = {
        row.number: row
        for row in db.execute(
            select(Measure.id, Measure.number, *columns).where(Measure.document_id == document_id)
        )
    }
    links: dict[int, list[int]] = {}
    if stored:
        for measure_id, department_id in db.execute(
            select(MeasureDepartment.measure_id, MeasureDepartment.department_id)
            .join(Measure, Measure.id == MeasureDepartment.measure_id)
            .where(Measure.document_id == document_id)
            .order_by(MeasureDepartment.measure_id, MeasureDepartment.position)
        ):
            links.setdefault(measure_id, []).append(department_id)
    new: list[Measure] = []
    updated: list[MeasureChange] = []
    changed: list[dict[str, object]] = []  # the updated measures' new values, with their id
    relinked: list[MeasureDepartment] = []
    for parsed in report.measures:
        values: dict[str, object] = {
            "pillar_id": pillar_ids.get(parsed.pillar_number) if parsed.pillar_number else None,
            "title": parsed.title,
            "description": parsed.description,
            "achievement": parsed.achievement,
            "departments_others": parsed.departments_others,
            "carry_over_tag": parsed.carry_over.tag if parsed.carry_over else None,
            "carry_over_status": parsed.carry_over.status if parsed.carry_over else None,
            "carry_over_year": parsed.carry_over.fiscal_year if parsed.carry_over else None,
            "first_line": parsed.first,
            "last_line": parsed.last,
            "provenance": {name: span(*lines) for name, lines in parsed.provenance.items()},
            "grade": parsed.grade,
        }
        keys = dict.fromkeys(department_key(name) for name in parsed.departments)
        department_ids = [departments[key].id for key in keys]
        old = stored.pop(parsed.number, None)
        if old is None:
            measure = Measure(document_id=document_id, number=parsed.number, **values)
            measure.department_links = [
                MeasureDepartment(department_id=d, position=position)
                for position, d in enumerate(department_ids)
            ]
            db.add(measure)
            new.append(measure)
            continue
        before = {name: getattr(old, name) for name in _MEASURE_CONTENT}
        if before == values and links.get(old.id, []) == department_ids:
            continue
        updated.append(MeasureChange(old.id, parsed.number))
        changed.append({"id": old.id, **values})
        relinked.extend(
            MeasureDepartment(measure_id=old.id, department_id=d, position=position)
            for position, d in enumerate(department_ids)
        )
    if changed:  # each statement once for all the updated measures (executemany)
        db.execute(update(Measure), changed)
        ids = [row["id"] for row in changed]
        db.execute(delete(MeasureDepartment).where(MeasureDepartment.measure_id.in_(ids)))
        db.add_all(relinked)
    db.flush()  # the new measures in one batch of INSERTs, which gives them their ids
    added = [MeasureChange(measure.id, measure.number) for measure in new]
    removed = [MeasureChange(row.id, number) for number, row in stored.items()]
    if removed:
        db.execute(delete(Measure).where(Measure.id.in_([change.id for change in removed])))
    db.flush()
    return MeasureChanges(tuple(added), tuple(updated), tuple(removed))


# The columns a replacement compares to tell an updated measure from an untouched one.
_MEASURE_CONTENT = (
    "pillar_id",
    "title",
    "description",
    "achievement",
    "departments_others",
    "carry_over_tag",
    "carry_over_status",
    "carry_over_year",
    "first_line",
    "last_line",
    "provenance",
    "grade",
)


def _departments_by_key(db: Session, names: list[str]) -> dict[str, Department]:
    """Existing departments for ``names``, with new ones added for the rest (by normalised key)."""
    wanted = {department_key(name): name for name in reversed(names)}
    found = {
        d.key: d for d in db.scalars(select(Department).where(Department.key.in_(list(wanted))))
    }
    for key, name in wanted.items():
        if key not in found:
            found[key] = Department(name=name, key=key)
            db.add(found[key])
    return found


def _delete_orphan_departments(db: Session) -> None:
    linked = exists().where(MeasureDepartment.department_id == Department.id)
    db.execute(delete(Department).where(~linked))


def find_document(db: Session, municipality: str, fiscal_year: int) -> Document | None:
    return db.scalars(
        select(Document).where(
            Document.municipality == municipality, Document.fiscal_year == fiscal_year
        )
    ).first()


def delete_document(db: Session, document_id: int) -> int | None:
    """Delete one report with its measures; returns how many measures went, or None if it is
    not stored. Queues the index update in the same transaction."""
    document = db.get(Document, document_id)
    if document is None:
        return None
    removed = tuple(
        MeasureChange(measure_id, number)
        for measure_id, number in db.execute(
            select(Measure.id, Measure.number)
            .where(Measure.document_id == document_id)
            .order_by(Measure.number)
        )
    )
    db.execute(delete(Document).where(Document.id == document_id))
    _delete_orphan_departments(db)
    db.add(IndexTask(document_id=document_id, action="drop", created_at=datetime.now(UTC)))
    _record_change(
        db,
        "deleted",
        document_id,
        document.municipality,
        document.fiscal_year,
        MeasureChanges((), (), removed),
    )
    db.flush()
    return len(removed)


def _record_change(
    db: Session,
    kind: str,
    document_id: int,
    municipality: str,
    fiscal_year: int,
    measures: MeasureChanges,
) -> None:
    """One row of the change feed, in the transaction of the change it records."""
    db.add(
        Change(
            kind=kind,
            document_id=document_id,
            municipality=municipality,
            fiscal_year=fiscal_year,
            measures={
                "added": [[c.id, c.number] for c in measures.added],
                "updated": [[c.id, c.number] for c in measures.updated],
                "removed": [[c.id, c.number] for c in measures.removed],
            },
            changed_at=datetime.now(UTC),
        )
    )
