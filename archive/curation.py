"""Curators' corrections, kept in one plain file that ``plan-archive link FILE`` loads.

The rule in ``lineage`` decides most links; a curator fixes the rest. The file has one
correction per line, comma-separated, and ``#`` starts a comment::

    link,日立市,2020,04,2021,05      # FY2020 No 04 is FY2021 No 05 (either way round)
    unlink,日立市,2020,04,2021       # FY2020 No 04 has no self in FY2021
    rename,行政改革推進課,行政マネジメント課,2020   # the new name from FY2020 on

Loading replaces every correction with the file's, in one transaction, after the whole file
was read without error; a bad line is refused with its line number and changes nothing. The
corrections name measures by municipality, year and number, so they survive re-ingest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive.errors import Refused
from archive.models import (
    Department,
    DepartmentRename,
    Document,
    Measure,
    MeasureDepartment,
    MeasureLink,
)

# (municipality, fiscal year, number, other year) -> the number there, or None for none.
Explicit = dict[tuple[str, int, str, int], str | None]


class CurationError(Refused, ValueError):
    """A line of a curation file that cannot be used; the message names the line."""


@dataclass(frozen=True)
class Curation:
    links: list[MeasureLink]
    renames: list[DepartmentRename]


def parse(text: str) -> Curation:
    links: list[MeasureLink] = []
    renames: list[DepartmentRename] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        kind, rest = fields[0], fields[1:]
        try:
            if kind == "link" and len(rest) == 5:
                city, year, measure, other_year, other = rest
                links.append(_link(city, year, measure, other_year, other))
            elif kind == "unlink" and len(rest) == 4:
                city, year, measure, other_year = rest
                links.append(_link(city, year, measure, other_year, None))
            elif kind == "rename" and len(rest) == 3 and all(rest[:2]):
                renames.append(
                    DepartmentRename(old_name=rest[0], new_name=rest[1], from_year=int(rest[2]))
                )
            else:
                raise ValueError(
                    "expected link,CITY,YEAR,NO,YEAR,NO or unlink,CITY,YEAR,NO,YEAR "
                    "or rename,OLD,NEW,YEAR"
                )
        except ValueError as error:
            raise CurationError(f"line {number}: {error}") from None
    return Curation(links, renames)


def _link(city: str, year: str, number: str, other_year: str, other: str | None) -> MeasureLink:
    if not city or not number or other == "":
        raise ValueError("a field is empty")
    if int(year) == int(other_year):
        raise ValueError("a link joins two different years")
    return MeasureLink(
        municipality=city,
        fiscal_year=int(year),
        number=_number(number),
        other_fiscal_year=int(other_year),
        other_number=_number(other) if other is not None else None,
    )


def _number(number: str) -> str:
    """Measure numbers as stored: zero-padded to two digits ("4" → "04")."""
    return number.zfill(2) if number.isdigit() else number


def replace(db: Session, curation: Curation) -> None:
    """Make ``curation`` the store's corrections (the caller commits)."""
    db.execute(delete(MeasureLink))
    db.execute(delete(DepartmentRename))
    db.add_all(curation.links)
    db.add_all(curation.renames)


def dump(db: Session) -> str:
    """The store's corrections in the file format, so a curator can edit and load them."""
    lines = []
    for link in db.scalars(select(MeasureLink).order_by(MeasureLink.id)):
        where = f"{link.municipality},{link.fiscal_year},{link.number},{link.other_fiscal_year}"
        if link.other_number is None:
            lines.append(f"unlink,{where}")
        else:
            lines.append(f"link,{where},{link.other_number}")
    for rename in db.scalars(select(DepartmentRename).order_by(DepartmentRename.id)):
        lines.append(f"rename,{rename.old_name},{rename.new_name},{rename.from_year}")
    return "".join(f"{line}\n" for line in lines)


def explicit_links(db: Session, municipalities: Iterable[str]) -> Explicit:
    """Curated links of these municipalities, each ``link`` both ways round."""
    found: Explicit = {}
    rows = db.scalars(select(MeasureLink).where(MeasureLink.municipality.in_(list(municipalities))))
    for link in rows:
        city = link.municipality
        found[(city, link.fiscal_year, link.number, link.other_fiscal_year)] = link.other_number
        if link.other_number is not None:
            key = (city, link.other_fiscal_year, link.other_number, link.fiscal_year)
            found[key] = link.number
    return found


def renames(db: Session) -> list[DepartmentRename]:
    return list(db.scalars(select(DepartmentRename).order_by(DepartmentRename.from_year)))


def former_names(name: str, all_renames: Iterable[DepartmentRename]) -> dict[str, int]:
    """The names ``name`` had before, each with the year the next name began (transitively):
    行政マネジメント課 → {行政改革推進課: 2020} means 行政改革推進課 until FY2019."""
    found: dict[str, int] = {}
    todo = [name]
    listed = list(all_renames)
    while todo:
        current = todo.pop()
        for rename in listed:
            if rename.new_name == current and rename.old_name not in found:
                if rename.old_name == name:
                    continue
                found[rename.old_name] = rename.from_year
                todo.append(rename.old_name)
    return found


@dataclass(frozen=True)
class DepartmentYear:
    fiscal_year: int
    name: str  # as printed that year
    measures: list[tuple[Measure, Document]]


def department_years(db: Session, names: Sequence[str]) -> list[list[DepartmentYear]]:
    """For each department name, the years it appears in, following declared renames back:
    its measures each year, under the name printed then. Two queries for any number."""
    all_renames = renames(db)
    formers = [former_names(name, all_renames) for name in names]
    wanted = set(names) | {old for former in formers for old in former}
    rows = db.execute(
        select(Department.name, Measure, Document)
        .join(MeasureDepartment, MeasureDepartment.department_id == Department.id)
        .join(Measure, Measure.id == MeasureDepartment.measure_id)
        .join(Document, Document.id == Measure.document_id)
        .where(Department.name.in_(sorted(wanted)))
        .order_by(Document.fiscal_year, Document.municipality, Measure.number)
    )
    by_name: dict[str, list[tuple[Measure, Document]]] = defaultdict(list)
    for name, measure, document in rows:
        by_name[name].append((measure, document))
    result = []
    for name, former in zip(names, formers, strict=True):
        years: dict[tuple[int, str], list[tuple[Measure, Document]]] = defaultdict(list)
        for measure, document in by_name.get(name, []):
            years[(document.fiscal_year, name)].append((measure, document))
        for old, until in former.items():
            for measure, document in by_name.get(old, []):
                if document.fiscal_year < until:
                    years[(document.fiscal_year, old)].append((measure, document))
        result.append(
            [
                DepartmentYear(year, printed, found)
                for (year, printed), found in sorted(years.items())
            ]
        )
    return result


def renamed_pairs(
    removed: Sequence[str], added: Sequence[str], all_renames: Iterable[DepartmentRename]
) -> list[tuple[str, str]]:
    """(old, new) for each removed department that a declared rename turns into an added one."""
    listed = list(all_renames)
    pairs = []
    for new in added:
        former = former_names(new, listed)
        pairs += [(old, new) for old in removed if old in former]
    return pairs
