"""Bytes to text: the encodings Japanese offices use, and line endings.

Encodings are tried in a fixed order (UTF-8, CP932, EUC-JP) instead of asking a detector,
because detectors guess wrong on short Japanese text. Order alone is not enough either:
EUC-JP bytes often decode "successfully" as CP932 half-width katakana, so a candidate whose
text is implausible for a plan report loses to a later one that reads cleanly.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from archive.errors import Refused

ENCODINGS = ("utf-8", "cp932", "euc_jp")


class DecodeError(Refused, ValueError):
    """The bytes are not a text document we can read; the message is one line."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def decode_document(data: bytes) -> DecodedText:
    """Decode ``data`` and normalise line endings (CRLF and CR become LF)."""
    if not data.strip():
        raise DecodeError("the file is empty")
    if data.startswith(b"%PDF-"):
        raise DecodeError("this is a PDF, not a text file")
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                text = data[2:].decode(encoding)
            except UnicodeDecodeError as error:
                raise DecodeError(
                    f"starts with a UTF-16 BOM but is not UTF-16 (byte {error.start + 2})"
                ) from None
            if "\x00" in text:  # as a NUL byte in the other encodings: not a text report
                raise DecodeError("this is a binary file, not text (it holds NUL characters)")
            return DecodedText(_normalise_newlines(text), encoding)
    if b"\x00" in data:
        raise DecodeError("this is a binary file, not text")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return DecodedText(_normalise_newlines(data[3:].decode("utf-8")), "utf-8-sig")
        except UnicodeDecodeError as error:
            raise DecodeError(
                f"starts with a UTF-8 BOM but is not UTF-8 (byte {error.start})"
            ) from None
    best: tuple[int, str, str] | None = None
    utf8_error: UnicodeDecodeError | None = None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            utf8_error = utf8_error or (error if encoding == "utf-8" else None)
            continue
        if encoding != "utf-8" and _LATIN_SANDWICH.search(text):
            continue  # a kanji inside a Latin word: Western bytes misread, not Japanese
        suspicion = _suspicion(text)
        if suspicion == 0:
            return DecodedText(_normalise_newlines(text), encoding)
        if best is None or suspicion < best[0]:
            best = (suspicion, text, encoding)
    if best is None or best[0] * 4 > len(best[1]):  # over a quarter odd: not a report
        where = f" (not UTF-8 at byte {utf8_error.start})" if utf8_error else ""
        raise DecodeError(f"the file is not text in UTF-8, Shift_JIS (CP932) or EUC-JP{where}")
    return DecodedText(_normalise_newlines(best[1]), best[2])


def storable(text: str) -> bool:
    """Whether every store can hold ``text``: it has no NUL and no lone surrogate."""
    return _UNSTORABLE.search(text) is None


def make_storable(text: str) -> str:
    """``text`` without its NULs, each lone surrogate replaced by U+FFFD (the replacement
    character): for text a reader made up, not a file's own (a PDF's, a file name)."""
    return _UNSTORABLE.sub(lambda found: "" if found[0] == "\x00" else "\ufffd", text)


# PostgreSQL refuses NUL (U+0000) in text, and a lone surrogate (U+D800 to U+DFFF) has no UTF-8
# form, so neither SQLite nor PostgreSQL can take one. Strict decoders never make a surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _suspicion(text: str) -> int:
    """How many characters would be odd in a report: half-width katakana, controls, private use.

    Half-width katakana is what EUC-JP looks like when misread as CP932, and what UTF-8 looks
    like when misread as anything else; real reports print katakana full-width.
    """
    return len(_ODD.findall(text))


# Half-width katakana; controls (category Cc) but tab, newlines and form feed; private use
# (Co); surrogates (Cs, from surrogateescape).
_ODD = re.compile(
    "[\uff61-\uff9f\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff"
    "\U000f0000-\U000ffffd\U00100000-\U0010fffd]"
)


# A kanji between two Latin letters (D騁ails) is Latin-1 or Windows-1252 misread as CP932;
# Japanese never puts one inside a Latin word.
_LATIN_SANDWICH = re.compile(r"(?<=[A-Za-z])[\u3400-\u9fff\uf900-\ufaff](?=[A-Za-z])")
