"""Japanese text analysis: the same chain for the text indexed and the text searched.

A default analyzer splits on spaces, and Japanese has none, so a whole sentence would be
one word. Here text is first *normalised*:

- NFKC, so full- and half-width forms meet (``１２回`` = ``12回``, ``Ｗｉ－Ｆｉ`` = ``Wi-Fi``);
- case folded, and accents dropped from Latin letters (``café`` = ``cafe``);
- in-word joiners folded away: a hyphen between letters or digits (``Wi-Fi`` = ``WiFi``), a
  comma between digits (``11,050`` = ``11050``), a ・ between words (``ごみ・リサイクル``);
- white space dropped unless it separates two Latin words or numbers: PDF extraction puts
  spaces at random into Japanese (``約 53万人``, ``公衆無線 LAN``), and Japanese writes none.

Then it is cut into *tokens*: a run of kanji and kana becomes overlapping character bigrams
(``市民サービス`` → 市民 民サ サー ービ ビス), because Japanese words have no boundaries to
find and bigrams find any word of two characters or more; a lone character stays a unigram.
A run of Latin letters or digits is one word. Searching a string means matching the sequence
of its tokens, so a query finds exactly the texts that contain it, also where the PDF had
split it over two lines.

When indexing, the last character of each kanji/kana run is also emitted as a unigram, at
the same position as the run's last bigram. With it, every character occurrence either starts
a bigram or is such a unigram, so a one-character query is a prefix search over the terms.

Every token knows the span of the *original* text it came from, for highlighting.

``BigramAnalyzer`` is the same chain as a Whoosh analyzer, declared in the index's schema
(``index/fields.py``), so a plain Whoosh query parser on our index splits text as we do.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whoosh.analysis import Analyzer, Token

_JOINERS = "-‐‑‒–—−ー"  # hyphens; ー only between Latin letters (it is a kana elsewhere)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3041 <= code <= 0x30FF  # hiragana, katakana (with ー)
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or char in "々〆〇ヵヶ"
        or 0x20000 <= code <= 0x2FA1F  # supplementary ideographs
    )


def is_cjk(char: str) -> bool:
    return _is_cjk(char)


def is_word(char: str) -> bool:
    return _is_word(char)


def _is_word(char: str) -> bool:
    return char.isalnum() and not _is_cjk(char)


@dataclass(frozen=True)
class Normalized:
    """Normalised text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]


_FOLDED: dict[str, str] = {}  # character -> its folded form; the alphabet is small


def _fold(char: str) -> str:
    """NFKC and case folding, and accents dropped from Latin letters (not from kana)."""
    folded = []
    for out in unicodedata.normalize("NFKC", char).casefold():
        if ord(out) < 0x3000 and out.isalpha():
            bare = unicodedata.normalize("NFKD", out)
            out = "".join(c for c in bare if not unicodedata.combining(c)) or out
        folded.append(out)
    return "".join(folded)


# A character followed by combining or half-width (semi-)voiced marks: ｶﾞ, か + U+3099, é as
# e + U+0301. NFKC must see each such cluster whole to compose it (ｶﾞ is ガ); applied one
# character at a time it would leave a stray mark.
_CLUSTER = re.compile(
    "[^\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\uff9e\uff9f]"
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\uff9e\uff9f]+"
)


def _composed(text: str) -> tuple[str, list[int] | None]:
    """``text`` with each mark cluster NFKC-composed, and the original index of each
    character (None when nothing changed)."""
    if not _CLUSTER.search(text):
        return text, None
    pieces: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _CLUSTER.finditer(text):
        pieces.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        composed = unicodedata.normalize("NFKC", match.group(0))
        pieces.append(composed)
        origin.extend([match.start()] * len(composed))
        last = match.end()
    pieces.append(text[last:])
    origin.extend(range(last, len(text)))
    return "".join(pieces), origin


def normalize(text: str) -> Normalized:
    """NFKC, case fold, Latin accents dropped, in-word joiners removed; offsets kept.

    The same steps as ``normalize_text``, in C where it can: the characters are folded by
    ``str.translate``, and only the joiners and runs of white space that the regular
    expressions find are handled one by one. A text with a character that folds to several
    (㈱ is (株)) takes the character-by-character way, ``_normalize_slowly``; a property test
    holds the two equal."""
    composed, composed_origin = _composed(text)
    folded = composed.translate(_FOLD_TABLE)
    if len(folded) != len(composed):
        return _normalize_slowly(text)
    positions = list(range(len(folded)))  # where each kept character is in ``folded``
    for joiner in reversed([m.start() for m in _JOINER.finditer(folded)]):
        del positions[joiner]
    kept = _JOINER.sub("", folded)
    pieces: list[str] = []
    origin: list[int] = []
    last = 0
    for run in _SPACES.finditer(kept):
        pieces.append(kept[last : run.start()])
        origin += positions[last : run.start()]
        if _space(run) == " ":
            pieces.append(" ")
            origin.append(positions[run.start()])
        last = run.end()
    pieces.append(kept[last:])
    origin += positions[last:]
    if composed_origin is not None:
        origin = [composed_origin[i] for i in origin]
    return Normalized("".join(pieces), tuple(origin))


def _normalize_slowly(text: str) -> Normalized:
    """``normalize`` one character at a time: any fold, however long."""
    text, composed_origin = _composed(text)
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = _FOLDED.get(char)
        if folded is None:
            folded = _FOLDED.setdefault(char, _fold(char))
        where = composed_origin[index] if composed_origin is not None else index
        for piece in folded:
            chars.append(piece)
            origin.append(where)
    out: list[str] = []
    out_origin: list[int] = []
    space_at: int | None = None  # origin of a pending run of white space
    for i, char in enumerate(chars):
        if char.isspace():
            space_at = origin[i] if space_at is None else space_at
            continue
        if _is_joiner(chars, i):
            continue
        if space_at is not None and out and _is_word(out[-1]) and _is_word(char):
            out.append(" ")
            out_origin.append(space_at)
        space_at = None
        out.append(char)
        out_origin.append(origin[i])
    return Normalized("".join(out), tuple(out_origin))


def _is_joiner(chars: list[str], i: int) -> bool:
    if i == 0 or i == len(chars) - 1:
        return False
    before, char, after = chars[i - 1], chars[i], chars[i + 1]
    if char in _JOINERS:
        return _is_word(before) and _is_word(after)
    if char == ",":
        return before.isdecimal() and after.isdecimal()
    if char == "・":
        return before.isalnum() and after.isalnum()
    return False


def normalize_text(text: str) -> str:
    """``normalize(text).text`` without the offsets, several times faster: what indexing uses.

    A property test holds the two to the same result.
    """
    text, _ = _composed(text)
    folded = text.translate(_FOLD_TABLE)  # one lookup per character, in C
    return _SPACES.sub(_space, _JOINER.sub("", folded))


class _FoldTable(dict[int, str]):
    """``str.translate``'s table for ``_fold``: each code point's folded form, computed the
    first time it is met (``__missing__``), so the table holds only the alphabet seen."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _FOLDED.get(char)
        if folded is None:
            folded = _FOLDED.setdefault(char, _fold(char))
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _space(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    keep = start > 0 and end < len(text) and _is_word(text[start - 1]) and _is_word(text[end])
    return " " if keep else ""


@dataclass(frozen=True)
class Piece:
    """One token: its text, position, and span ``[start, end)`` in the original text."""

    text: str
    position: int
    start: int
    end: int


_CJK_CLASS = "\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆〇ヵヶ\U00020000-\U0002fa1f"
_WORD = rf"[^\W_{_CJK_CLASS}]"
_JOINER = re.compile(rf"(?<={_WORD})[{_JOINERS}](?={_WORD})|(?<=\d),(?=\d)|(?<=[^\W_])・(?=[^\W_])")
_SPACES = re.compile(r"\s+")
_RUN = re.compile(rf"(?P<cjk>[{_CJK_CLASS}]+)|(?P<word>{_WORD}+)")
WORD_CLASS = _WORD  # a character of a word: a letter or digit that is not kanji or kana


def _tokens(normalized: str, for_index: bool) -> Iterator[tuple[str, int, int, int]]:
    """(token, position, first, last) with first/last indexes into ``normalized``."""
    position = 0
    for match in _RUN.finditer(normalized):
        run, start = match.group(0), match.start()
        if match.lastgroup == "word" or len(run) == 1:
            yield run, position, start, match.end() - 1
            position += 1
            continue
        for offset in range(len(run) - 1):
            i = start + offset
            yield run[offset : offset + 2], position, i, i + 1
            position += 1
        if for_index:
            last = start + len(run) - 1
            yield run[-1], position - 1, last, last


def pieces(text: str, *, for_index: bool = False) -> Iterator[Piece]:
    """Tokens of ``text``: bigrams of kanji/kana runs, words of Latin and digits, each with
    its span in the original text."""
    normalized = normalize(text)
    origin = normalized.origin
    for token, position, first, last in _tokens(normalized.text, for_index):
        yield Piece(token, position, origin[first], origin[last] + 1)


def terms(text: str, *, for_index: bool = False) -> Iterator[tuple[str, int]]:
    """(token, position) of ``text``, without offsets: the fast path for indexing."""
    for token, position, _, _ in _tokens(normalize_text(text), for_index):
        yield token, position


def query_terms(text: str) -> list[str]:
    """The token texts a query string must match in sequence."""
    return [token for token, _ in terms(text)]


def index_terms(normalized: str) -> dict[str, int]:
    """Each token of already normalised text with its frequency, as the index counts them
    (the last character of each kanji/kana run included as a unigram)."""
    tokens: list[str] = []
    for match in _RUN.finditer(normalized):
        run = match.group(0)
        if match.lastgroup == "cjk" and len(run) > 1:
            tokens += [run[i : i + 2] for i in range(len(run) - 1)]
            tokens.append(run[-1])
        else:
            tokens.append(run)
    return Counter(tokens)


class BigramAnalyzer(Analyzer):  # type: ignore[misc]  # whoosh is untyped
    """The chain above as a Whoosh analyzer: index tokens when Whoosh indexes a value
    (``mode="index"``), the tokens a query must match otherwise.

    A plain top-level class without state, because Whoosh pickles it into the index's schema
    and every reader of the index unpickles it.
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for_index = mode == "index"
        found: Iterator[tuple[str, int, int, int]]
        if chars:  # offsets into the original text (Whoosh's highlighter asks for them)
            found = (
                (p.text, p.position, p.start, p.end) for p in pieces(value, for_index=for_index)
            )
        else:
            found = ((t, position, 0, 0) for t, position in terms(value, for_index=for_index))
        for text, position, start, end in found:
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = text
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token
