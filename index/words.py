"""Words: the content words of a text by SudachiPy's morphological analysis (split mode A),
for word matches beside exact ones (#17 point 1).

Exact matching finds a string where it occurs; researchers type words, and ``防災情報`` should
also find ``防災に関する情報``. Each entry's text is cut into words by Sudachi, and the index
holds each *content word* (its dictionary form, ``normalized_form``, normalised as all text
is, see ``index.analysis``) in a field of its own. A query term is cut the same way; an entry
holding every one of its content words matches it by words.

A content word is what can stand for a query on its own, so that a word match never
over-matches:

- particles, auxiliaries, symbols and spaces are not words (助詞, 助動詞, 補助記号, 空白), nor
  are dependent forms (非自立可能: the いる of 〜ている, the する of 推進し);
- a single character is not (者, 課, 市: everywhere);
- a number or anything with a digit is not, nor an era form (令和, 平成, 年度, ...): ``令和2年度``
  must not match every text with 令和, 2 and 年度 apart.

A term with fewer than two content words matches exactly only.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

from sudachipy import Dictionary, SplitMode  # type: ignore[import-untyped]

from index.analysis import normalize_text

_SKIPPED_POS = frozenset({"助詞", "助動詞", "補助記号", "空白"})
ERA_WORDS = frozenset(
    {"令和", "平成", "昭和", "大正", "明治", "年度", "元年", "年次", "西暦", "fy", "h", "r"}
)
# Sudachi refuses input over about 49 KB; texts are cut at a sentence end below this.
_CHUNK = 4000
_local = threading.local()  # a Sudachi tokenizer is not to be shared between threads


@functools.cache
def _dictionary() -> Dictionary:
    return Dictionary(dict="core")


def _tokenizer() -> object:
    found = getattr(_local, "tokenizer", None)
    if found is None:
        # Only the fields read here are filled in for each morpheme: half the time.
        found = _local.tokenizer = _dictionary().tokenizer(
            mode=SplitMode.A, fields={"pos", "normalized_form"}
        )
    return found


def is_content_word(word: str) -> bool:
    """Whether ``word`` (normalised) may be matched on its own."""
    return len(word) >= 2 and word not in ERA_WORDS and not any(c.isdigit() for c in word)


def _chunks(text: str) -> Iterator[str]:
    while len(text) > _CHUNK:
        cut = max(text.rfind("。", 0, _CHUNK), text.rfind("\u241e", 0, _CHUNK))
        cut = cut + 1 if cut > 0 else _CHUNK
        yield text[:cut]
        text = text[cut:]
    if text:
        yield text


_SKIPPED: dict[int, bool] = {}  # part-of-speech id -> whether its words are skipped
_WORDS: dict[str, str | None] = {}  # Sudachi's normalized form -> our word, or None


def _skipped(pos_id: int) -> bool:
    found = _SKIPPED.get(pos_id)
    if found is None:
        pos = _dictionary().pos_of(pos_id)
        found = _SKIPPED[pos_id] = pos[0] in _SKIPPED_POS or pos[1] == "非自立可能"
    return found


def _word(form: str) -> str | None:
    found = _WORDS.get(form, "")
    if found == "":
        word = normalize_text(form)
        ok = is_content_word(word) and " " not in word and "\u241e" not in word
        found = _WORDS[form] = word if ok else None
        if len(_WORDS) > 200_000:  # a vocabulary, bounded all the same
            _WORDS.clear()
    return found


def content_words(normalized: str) -> list[str]:
    """The content words of already normalised text, in order, repeated as they occur."""
    tokenizer = _tokenizer()
    words: list[str] = []
    for chunk in _chunks(normalized):
        for morpheme in tokenizer.tokenize(chunk):  # type: ignore[attr-defined]
            if _skipped(morpheme.part_of_speech_id()):
                continue
            word = _word(morpheme.normalized_form())
            if word is not None:
                words.append(word)
    return words


def query_words(normalized: str) -> tuple[str, ...]:
    """The distinct content words of a query term; none unless there are at least two (a
    term of one word is matched exactly only)."""
    words = tuple(dict.fromkeys(content_words(normalized)))
    return words if len(words) >= 2 else ()
