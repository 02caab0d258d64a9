"""What the Whoosh index holds for each searchable unit, and how a store row becomes it.

Postings are lean: two analysed fields (``all`` for any text, ``title`` for ``title:``) give
candidates, and the filterable columns are ID, KEYWORD and NUMERIC fields (department names
and municipalities by their normalised key). Exact matching, ranking and facets work on the
normalised text and columns kept as stored values, so a search never goes back to the
relational store until it builds highlights for the one page it returns.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from archive.parse import department_key
from archive.queries import IndexRow
from index.analysis import japanese_analyzer, normalize_text

# What counts toward "all": the separator cannot occur in normalised text (it is not a word
# character and not white space), so a phrase never runs from one field into the next.
SEPARATOR = "\u241e"


def schema() -> Schema:
    analyzer = japanese_analyzer()
    return Schema(
        key=ID(stored=True, unique=True),
        document=ID(stored=True),
        all=TEXT(analyzer=analyzer, phrase=False),
        title=TEXT(analyzer=analyzer, phrase=False),
        fiscal_year=NUMERIC(stored=True),
        municipality=ID,
        status=ID,
        department=KEYWORD(commas=True, scorable=False, lowercase=False),
        data=STORED(),
    )


def version(row: IndexRow) -> str:
    """A digest of everything the index holds for ``row``: equal digests, nothing stale."""
    payload = json.dumps(
        [
            row.key,
            row.municipality,
            row.fiscal_year,
            row.number,
            row.status,
            row.departments,
            sorted(row.fields.items()),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def whoosh_document(row: IndexRow) -> dict[str, Any]:
    normalized = {name: normalize_text(text) for name, text in row.fields.items() if text}
    return {
        "key": row.key,
        "document": str(row.document_id),
        "all": SEPARATOR.join(row.fields.values()),
        "title": row.fields.get("title", ""),
        "fiscal_year": row.fiscal_year,
        "municipality": department_key(row.municipality),
        "status": row.status or "",
        "department": ",".join(department_key(name) for name in row.departments),
        "data": {
            "kind": row.kind,
            "measure_id": row.measure_id,
            "document_id": row.document_id,
            "municipality": row.municipality,
            "fiscal_year": row.fiscal_year,
            "number": row.number,
            "status": row.status,
            "departments": list(row.departments),
            "normalized": normalized,
            "version": version(row),
        },
    }
