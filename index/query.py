"""The search syntax, parsed into a small tree that ``search`` evaluates exactly.

    市民 サービス              both terms (AND)
    防災 OR 避難所 市民         (防災 or 避難所) and 市民: OR binds the terms beside it
    "市民 サービス"            the phrase: 市民サービス, spaces ignored, exact only
    防災情報                  防災情報, and also by words: 防災 and 情報 anywhere in the measure
    防災 OR 避難所             either
    防災 AND 避難所            both, as 防災 避難所 (AND is accepted, not searched as a word)
    タブレット -高齢者          the first without the second
    fiscalYear:2020           a year; fiscalYear:2019..2021 a range
    department:秘書課          a department, by its exact name (quotes for spaces)
    title:オープンデータ        a term in the title only
    municipality:日立市  status:継続
    [R3継続]  [完了]           the next-year tag as printed; [完了] is any 完了 tag
    R3継続  令和3年度継続       the tag, or the text where it is printed elsewhere
    tag:R3  tag:完了  tag:R3継続  the tag by the year it names, its status, or both
    grade:A  grade:○          the grade (評価) as printed
    number:5                  the measure numbered 5 (No 05), as printed otherwise (R3-1)

A term matches where its normalised text occurs (see ``index.analysis``): full/half width,
case, joiners and PDF spaces do not matter, and a Latin word matches only whole. An era
form (令和2年度, R2, 平成30年度) also matches every measure of that fiscal year, and a term
in the synonym list also matches its synonyms. A term not quoted and not ``title:`` that
holds two content words or more (``index.words``) also matches by words: the measures that
hold all its words, anywhere, in any form (市民参加 finds 市民の参加). The next-year tag
and the grade are labels, not text: a bare 継続 or R3 does not match them, but a term that
reads as a whole tag (in brackets, or with the year it names: [完了], R3継続, 令和3年度継続)
matches it too, in any era form, as do ``tag:`` and ``grade:``. Wildcards, regular
expressions and fuzzy matching are not syntax: ``*``, ``?``, ``~`` and ``/`` are ordinary
characters, which the analysis ignores.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archive.eras import parse_era_year
from archive.errors import Refused
from index.analysis import normalize_text
from index.words import query_words

MAX_QUERY_LENGTH = 256


# The columns matched as labels, highlighted whole: Exact.column -> highlight field name.
LABELS = {"grade": "grade", "number": "number"}


class QuerySyntaxError(Refused, ValueError):
    """The query cannot be read; the message says why, in one line. ``reason`` is a stable
    key for the same refusal in other words (``schema/messages.py`` has its Japanese), made
    with ``params``."""

    def __init__(self, message: str, reason: str, **params: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params

    @property
    def catalog_key(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Text:
    """A term or phrase, normalised; ``field`` is None for any text field, or "title".

    ``words`` are its content words (``index.words``) when it also matches by words: a term
    not quoted, of any field, with at least two content words (#17 point 1)."""

    text: str
    field: str | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Years:
    first: int
    last: int


@dataclass(frozen=True)
class Exact:
    """An exact value of a column: department, municipality or status."""

    column: str
    value: str


@dataclass(frozen=True)
class Tag:
    """The next-year tag: the year it names, its status, or both (#17 point 2)."""

    year: int | None
    status: str | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Text | Years | Exact | Tag | And | Or | Not

_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"|(\S+))')
_COLUMNS = {
    "department": "department",
    "municipality": "municipality",
    "status": "status",
    "grade": "grade",
    "number": "number",
}
_YEAR_RANGE = re.compile(r"(\d{4})(?:\.\.(\d{4}))?")

# Users add their own groups in <data dir>/synonyms.txt (see ``read_synonyms``).
DEFAULT_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("スマホ", "スマートフォン"),
    ("Facebook", "フェイスブック"),
)
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")
# A next-year tag, normalised (NFKC, lower case): the era year it names, then its status;
# brackets optional. A term reads as a whole tag when it has the brackets or the year.
_ERA_YEAR = r"(?:r|h|令和|平成)\s*(?:\d{1,2}|元)\s*(?:年度)?"
_TAG_TERM = re.compile(rf"(\[)?\s*({_ERA_YEAR})?\s*(継続|完了|新規|廃止|終了|統合|拡充)\s*(\])?")
_TAG_VALUE = re.compile(rf"\[?\s*({_ERA_YEAR}|\d{{4}})?\s*((?:(?![a-z0-9_])\w)+)?\s*\]?")


def synonym_table(groups: Sequence[Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Normalised term -> every normalised member of its group (itself included). Groups that
    share a word merge, so synonyms are symmetric and transitive."""
    merged: list[set[str]] = []
    for group in groups:
        members = {normalize_text(word) for word in group if word.strip()}
        overlapping = [m for m in merged if m & members]
        for other in overlapping:
            members |= other
            merged.remove(other)
        merged.append(members)
    return {member: tuple(sorted(group)) for group in merged for member in group}


@functools.cache
def _default_synonyms() -> dict[str, tuple[str, ...]]:
    """The built-in table, made once rather than for every query."""
    return synonym_table(DEFAULT_SYNONYMS)


def read_synonyms(text: str) -> list[tuple[str, ...]]:
    """A synonyms file: one group per line, words separated by commas; # starts a comment."""
    groups = []
    for line in text.splitlines():
        words = tuple(
            w.strip().strip('"') for w in line.split("#", 1)[0].split(",") if w.strip().strip('"')
        )
        if len(words) > 1:
            groups.append(words)
    return groups


def parse_query(query: str, synonyms: Mapping[str, tuple[str, ...]] | None = None) -> Node:
    """Parse ``query``; raise ``QuerySyntaxError`` with a one-line reason."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            f"a search is limited to {MAX_QUERY_LENGTH} characters",
            "QUERY_TOO_LONG",
            limit=MAX_QUERY_LENGTH,
        )
    if query.count('"') % 2:
        raise QuerySyntaxError('a quotation mark (") is not closed', "QUOTE_NOT_CLOSED")
    synonyms = synonyms if synonyms is not None else _default_synonyms()
    items: list[Node] = []  # ANDed; OR joins an item to the one before it, as web searches do
    joining = False
    anding = False  # `A AND B` is `A B`: AND is accepted as syntax, and needs a term each side
    for match in _TOKEN.finditer(query):
        negate, field, quoted, bare = match.groups()
        if field is None and bare and bare.endswith(":") and _is_field(bare[:-1]):
            raise QuerySyntaxError(
                f"{bare} needs a value right after the colon",
                "FIELD_NEEDS_VALUE",
                field=bare[:-1],
            )
        if bare in ("OR", "AND") and not negate and not field and quoted is None:
            if joining or anding or not items:
                raise QuerySyntaxError(f"{bare} needs a term on each side", f"{bare}_NEEDS_TERMS")
            joining, anding = bare == "OR", bare == "AND"
            continue
        anding = False
        node = _item(field, quoted, bare, synonyms)
        if node is None:
            continue
        node = Not(node) if negate else node
        if joining:
            if isinstance(node, Not) or isinstance(items[-1], Not):
                raise QuerySyntaxError("OR cannot join an excluded term", "OR_JOINS_EXCLUDED")
            previous = items.pop()
            left = previous.children if isinstance(previous, Or) else (previous,)
            node = Or((*left, node))
            joining = False
        items.append(node)
    if joining or anding:
        word = "OR" if joining else "AND"
        raise QuerySyntaxError(f"{word} needs a term on each side", f"{word}_NEEDS_TERMS")
    if not items:
        raise QuerySyntaxError("the search has no terms", "NO_TERMS")
    if all(isinstance(node, Not) for node in items):
        raise QuerySyntaxError(
            "a search needs at least one term that is not excluded", "ONLY_EXCLUDED"
        )
    return items[0] if len(items) == 1 else And(tuple(items))


def _is_field(name: str) -> bool:
    return name.lower() in ("fiscalyear", "year", "title", "tag", *_COLUMNS)


def _item(
    field: str | None, quoted: str | None, bare: str | None, synonyms: Mapping[str, tuple[str, ...]]
) -> Node | None:
    value = quoted if quoted is not None else bare or ""
    if field is not None:
        name = field.lower()
        if name in ("fiscalyear", "year"):
            return _years(value)
        if name == "tag":
            return _tag(value)
        if name in _COLUMNS:
            if not value.strip():
                raise QuerySyntaxError(f"{field}: needs a value", "FIELD_NEEDS_VALUE", field=field)
            if name in ("grade", "number"):
                return Exact(name, label_value(name, value))
            return Exact(_COLUMNS[name], value.strip())
        if name == "title":
            return _text(value, "title", synonyms)
        value = f"{field}:{value}"  # not a field we know: plain text
    tag = _tag_term(value)
    if tag is not None and "[" in normalize_text(value):
        return tag  # [R3継続], [完了]: the tag as printed, brackets and all
    node = _text(value, None, synonyms, by_words=quoted is None)
    if node is not None and tag is not None:
        node = Or((node, tag))  # R3継続: printed as text somewhere, or the measure's tag
    if node is None or quoted is not None:
        return node
    year = parse_era_year(value)
    return Or((node, Years(year, year))) if year is not None else node


def label_value(column: str, value: str) -> str:
    """A grade or number as its label is indexed: normalised; a number's digits without
    leading zeros (number:5 is No 05)."""
    text = normalize_text(value).strip()
    if column == "number":
        text = text.removeprefix("no").strip()
        if text.isdigit():
            text = str(int(text))
    return text


def _tag_term(value: str) -> Tag | None:
    """The tag a term reads as, when it reads as a whole one: [R3継続], R3継続, [完了]."""
    match = _TAG_TERM.fullmatch(normalize_text(value).strip())
    if match is None:
        return None
    opened, era, status, closed = match.groups()
    if not ((opened and closed) or era):
        return None  # 継続 alone is text; 継続] half a tag
    return Tag(parse_era_year(era) if era else None, status)


def _tag(value: str) -> Tag:
    """``tag:`` with the year a tag names, its status, or both: R3, 2021, 完了, [R3継続]."""
    match = _TAG_VALUE.fullmatch(normalize_text(value).strip())
    year_text, status = match.groups() if match else (None, None)
    year = None
    if year_text:
        year = int(year_text) if year_text.isdigit() else parse_era_year(year_text)
    if year is None and not status:
        raise QuerySyntaxError(
            f"tag:{value} is not a next-year tag; write tag:R3, tag:完了 or tag:R3継続",
            "NOT_A_TAG",
            value=value,
        )
    return Tag(year, status)


def _text(
    value: str,
    field: str | None,
    synonyms: Mapping[str, tuple[str, ...]],
    by_words: bool = False,
) -> Node | None:
    # Punctuation at a term's edges (市*, "防災.") is not part of what is searched for.
    # The characters that separate fields and entries in the searched text cannot be typed
    # into a match.
    cleaned = value.replace("\u241e", " ").replace("\u241d", " ")
    normalized = _EDGE_PUNCTUATION.sub("", normalize_text(cleaned))
    if not normalized:
        return None  # punctuation only: nothing to match
    variants = synonyms.get(normalized, (normalized,))
    nodes = tuple(Text(v, field, query_words(v) if by_words else ()) for v in variants)
    return nodes[0] if len(nodes) == 1 else Or(nodes)


def _years(value: str) -> Years:
    match = _YEAR_RANGE.fullmatch(value.strip())
    if match:
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first > last:
            raise QuerySyntaxError(
                f"fiscalYear:{value} runs backwards", "YEARS_BACKWARDS", value=value
            )
        return Years(first, last)
    year = parse_era_year(value)
    if year is None:
        raise QuerySyntaxError(
            f"fiscalYear:{value} is not a year; write fiscalYear:2020 or fiscalYear:2019..2021",
            "NOT_A_YEAR",
            value=value,
        )
    return Years(year, year)


def positive_texts(node: Node) -> list[Text]:
    """The terms a hit can be highlighted for (excluded terms are not)."""
    if isinstance(node, Text):
        return [node]
    if isinstance(node, And | Or):
        return [text for child in node.children for text in positive_texts(child)]
    return []


def positive_labels(node: Node) -> list[Tag | Exact]:
    """The tag, grade and number terms a hit can be highlighted for (not excluded ones)."""
    if isinstance(node, Tag) or (isinstance(node, Exact) and node.column in LABELS):
        return [node]
    if isinstance(node, And | Or):
        return [label for child in node.children for label in positive_labels(child)]
    return []
