"""What the index holds for each searchable unit: the Whoosh schema, and how a store row
becomes an entry of it.

Postings are lean: two analysed fields (``all`` for any text, ``title`` for ``title:``) give
candidates, and the filterable columns are exact terms: the municipality, status and
department names by their normalised key (``ID``/``KEYWORD``), the year and the document as
``NUMERIC``. Exact matching, ranking and facets work on the normalised text and columns kept
as stored values (and, for speed, in the arrays ``index/derived.py`` derives from them), so a
search never goes back to the relational store until it builds highlights for its page.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from archive.parse import department_key
from archive.queries import IndexRow
from index.analysis import BigramAnalyzer, index_terms, normalize_text
from index.words import content_words

# What counts toward "all": the separator cannot occur in normalised text (it is not a word
# character and not white space), so a phrase never runs from one field into the next.
SEPARATOR = "\u241e"

# The fields whose terms an ``Entry`` brings counted (the bulk writer does not analyse them):
# the two Whoosh analyses with our chain, and the content words (``index/words.py``).
TEXT_FIELDS = ("all", "title", "words")


def schema() -> Schema:
    """The index's Whoosh schema (a new object each time: Whoosh writers may change theirs)."""
    return Schema(
        # "m<measure id>" or "d<document id>". Stored, not indexed: nothing searches by it
        # (deletions go by document), and its one term per entry was most of a segment's
        # terms, each costing a posting list of its own to write.
        key=STORED(),
        kind=ID(stored=True),  # "measure" or "document"
        # An exact value, never a range: one term per value (shift_step=0), not sixteen.
        document_id=NUMERIC(int, bits=64, stored=True, shift_step=0),
        measure_id=STORED(),
        fiscal_year=NUMERIC(int, stored=True),  # Western year; NumericRange finds spans
        # Indexed by the normalised key (department_key), stored as printed.
        municipality=ID(stored=True),
        number=STORED(),
        status=ID(stored=True),  # next-year status: 継続, 完了, …
        # The next-year tag as terms (``tag_terms``: its status, the year it names, both),
        # and the grade by its normalised text: labels, which a search matches only through
        # a tag-like term, ``tag:`` or ``grade:`` (#17 point 2). Their addition made earlier
        # indexes outdated.
        tag=KEYWORD(lowercase=False, commas=False, scorable=False),
        grade=ID(),
        department=KEYWORD(stored=True, lowercase=False, commas=False, scorable=False),
        title=TEXT(analyzer=BigramAnalyzer(), phrase=False),
        all=TEXT(analyzer=BigramAnalyzer(), phrase=False),
        # The content words of all fields (index/words.py), separated by spaces, for word
        # matches (#17 point 1). Its addition made earlier indexes outdated (another schema).
        words=KEYWORD(lowercase=False, commas=False, scorable=False),
        normalized=STORED(),  # field name -> normalised text, for exact matching
        version=STORED(),  # digest of the row: check compares it with the store's
    )


def tag_term(status: str | None, year: int | None) -> str:
    """The term of the ``tag`` field a next-year tag of ``status`` naming ``year`` holds
    (either may be None, not both): "継続", "2021", "2021継続"."""
    return f"{year or ''}{''.join(normalize_text(status or '').split())}"


def tag_terms(status: str | None, year: int | None) -> list[str]:
    """Every term an entry whose tag has this status and year holds: a search for the
    status alone, the year alone, or both finds it."""
    terms = [tag_term(status, None)] if status else []
    if year is not None:
        terms.append(tag_term(None, year))
        if status:
            terms.append(tag_term(status, year))
    return terms


@dataclass(frozen=True)
class Entry:
    """One searchable unit as a writer takes it.

    ``fields`` are the keyword arguments of Whoosh's ``add_document`` for it (``_stored_x``
    included); ``terms`` are the text fields' tokens already counted, which the bulk writer
    uses instead of running the analyzer again (a test holds the two to the same index).
    """

    key: str
    document_id: int
    fields: dict[str, Any]
    terms: Mapping[str, Mapping[str, int]]  # text field -> token -> frequency


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
            row.tag,
            row.tag_year,
            row.grade,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def entry(row: IndexRow) -> Entry:
    normalized = {name: normalize_text(text) for name, text in row.fields.items() if text}
    # A field of white space alone has no text: left out, as an empty one (no field holds
    # an empty string, so an empty title is no title).
    normalized = {name: text for name, text in normalized.items() if text}
    texts = {name: row.fields[name] for name in normalized}
    joined = SEPARATOR.join(normalized.values())
    title = normalized.get("title", "")
    fields: dict[str, Any] = {
        "key": row.key,
        "kind": row.kind,
        "document_id": row.document_id,
        "fiscal_year": row.fiscal_year,
        "municipality": department_key(row.municipality),
        "_stored_municipality": row.municipality,
        "number": row.number,
        "normalized": normalized,
        "version": version(row),
        # The text as printed: the schema's analyzer normalises it as index_terms' input
        # was (normalising twice is not always a no-op: a ・ after a line break stays).
        "all": SEPARATOR.join(texts.values()),
        "title": texts.get("title", ""),
    }
    words = content_words(joined)
    if words:
        fields["words"] = " ".join(words)
    if row.measure_id is not None:
        fields["measure_id"] = row.measure_id
    if row.status:
        fields["status"] = row.status
    tags = tag_terms(row.status, row.tag_year) if row.tag or row.status else []
    if tags:
        fields["tag"] = " ".join(tags)
    if row.grade and normalize_text(row.grade).strip():
        fields["grade"] = normalize_text(row.grade).strip()
    if row.departments:
        keys = dict.fromkeys(department_key(name) for name in row.departments)
        fields["department"] = " ".join(keys)
        fields["_stored_department"] = list(row.departments)
    return Entry(
        key=row.key,
        document_id=row.document_id,
        fields=fields,
        terms={
            "all": index_terms(joined),
            "title": index_terms(title),
            "words": Counter(words),
        },
    )
