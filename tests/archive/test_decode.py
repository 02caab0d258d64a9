"""Decoding: the Japanese encodings in a strict order, line endings, and refusals."""

from __future__ import annotations

import codecs

import pytest

from archive.decode import DecodeError, decode_document, make_storable, storable

TEXT = "日立市の情報化推進アクションプラン\n市民サービスの推進。ｶﾀｶﾅ以外"
PLAIN = "高齢者向けタブレット入門講座を開催した。\n計 12回。"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (PLAIN.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + PLAIN.encode("utf-8"), "utf-8-sig"),
        (PLAIN.encode("cp932"), "cp932"),
        (PLAIN.encode("euc_jp"), "euc_jp"),
    ],
)
def test_encodings(data: bytes, encoding: str) -> None:
    decoded = decode_document(data)
    assert decoded.text == PLAIN
    assert decoded.encoding == encoding


def test_short_euc_jp_is_not_misread_as_cp932() -> None:
    # These bytes also decode as CP932, as half-width katakana; the reader must not stop there.
    data = "防災".encode("euc_jp")
    data.decode("cp932")  # proves the trap is real
    assert decode_document(data).text == "防災"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_become_lf(newline: str) -> None:
    assert decode_document(PLAIN.replace("\n", newline).encode("cp932")).text == PLAIN


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (bytes([0x82, 0xA0, 0xFF, 0xFE, 0x81, 0x7F]), "not text"),
    ],
)
def test_refusals_are_one_line(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_document(data)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)


def test_mostly_halfwidth_garbage_is_refused() -> None:
    # Random high bytes that CP932 accepts as half-width katakana are not a report.
    with pytest.raises(DecodeError):
        decode_document(bytes(range(0xA1, 0xE0)) * 4)


def test_legitimate_halfwidth_katakana_is_kept() -> None:
    assert decode_document(TEXT.encode("cp932")).text == TEXT


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(encoding: str) -> None:
    bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
    assert decode_document(bom + PLAIN.encode(encoding)).text == PLAIN


def test_western_code_pages_are_not_misread_as_cp932() -> None:
    with pytest.raises(DecodeError):
        decode_document("Détails des activités".encode("latin-1"))


def test_a_stray_byte_is_located() -> None:
    data = PLAIN.encode("utf-8") + b"\x93quoted\x94"
    with pytest.raises(DecodeError, match="not UTF-8 at byte"):
        decode_document(data)


def test_odd_characters_are_those_of_their_unicode_categories() -> None:
    """The decoder's count of odd characters (one regular expression) against its definition,
    over every code point: half-width katakana, and controls (but tab, newlines, form feed),
    private use and surrogates by their Unicode category."""
    import sys
    import unicodedata

    from archive.decode import _suspicion

    def odd(char: str) -> bool:
        if 0xFF61 <= ord(char) <= 0xFF9F:
            return True
        return char not in "\n\r\t\f" and unicodedata.category(char) in ("Cc", "Co", "Cs")

    every = [chr(code) for code in range(sys.maxunicode + 1)]
    assert [c for c in every if odd(c) != bool(_suspicion(c))] == []


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_holding_nul_is_binary(encoding: str) -> None:
    """A NUL byte is refused in the other encodings before decoding; in UTF-16 every other
    byte is one, so the decoded text is checked: U+0000 is in no report (and PostgreSQL
    stores no NUL)."""
    bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
    with pytest.raises(DecodeError, match="binary"):
        decode_document(bom + (PLAIN + "\x00").encode(encoding))


def test_storable_text_has_no_nul_and_no_lone_surrogate() -> None:
    assert storable(PLAIN + "\U0001f600\t\f")
    for bad in ("\x00", "a\ud800", "\udfffa", "\udc82\udca0.txt"):
        assert not storable(bad)
    assert make_storable("a\x00b\ud800c\udc82.txt") == "ab\ufffdc\ufffd.txt"
    assert make_storable(PLAIN) == PLAIN
