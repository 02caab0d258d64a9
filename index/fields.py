"""What the index holds for each searchable unit, and how a store row becomes it.

Postings are lean: two analysed fields (``all`` for any text, ``title`` for ``title:``) give
candidates, and the filterable columns (department names, municipality, status) are exact
terms by their normalised key. Exact matching, ranking and facets work on the normalised
text and columns kept as stored values, so a search never goes back to the relational
store until it builds highlights for the one page it returns.
"""

from __future__ import annotations

import hashlib
import json

from archive.parse import department_key
from archive.queries import IndexRow
from index.analysis import index_terms, normalize_text
from index.segments import Entry

# What counts toward "all": the separator cannot occur in normalised text (it is not a word
# character and not white space), so a phrase never runs from one field into the next.
SEPARATOR = "\u241e"


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


def entry(row: IndexRow) -> Entry:
    normalized = {name: normalize_text(text) for name, text in row.fields.items() if text}
    return Entry(
        document_id=row.document_id,
        key=row.key,
        stored={
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
        terms={
            "all": index_terms(SEPARATOR.join(normalized.values())),
            "title": index_terms(normalized.get("title", "")),
            "municipality": {department_key(row.municipality): 1},
            "status": {row.status or "": 1},
            "department": dict.fromkeys((department_key(n) for n in row.departments), 1),
        },
    )
