"""Variants of the sample report as other years and other offices produce them.

Each function takes the sample's text and returns the bytes of a variant, changing one thing
the way real files differ: encoding and line endings, digit width, page numbers, a measure
dropped or added, a tag missing, a department list ending in 外.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from archive.municipalities import all_municipalities

ADDED_MEASURE = (
    "No 13 推進事項 電子申請サービスの拡充 \n\n"
    "担当部課所 行政マネジメント課、市民課 \n\n"
    "事業内容 \n"
    "市民が窓口に来ることなく手続を行えるよう、オンラインで申請できる手続を拡大し、利便性の向\n\n"
    "上を図る。 \n\n"
    "達成状況 \n\n"
    "子育てや介護に関する 15手続をオンライン化した。        [新規] \n\n"
)


def legacy_charset(text: str) -> str:
    """What an office on a legacy code page types instead: "cafe" for café; EUC-JP has no ①."""
    circled = {0x2460 + i: f"（{i + 1}）" for i in range(20)}
    return text.replace("é", "e").translate(circled)


def cp932_crlf(text: str) -> bytes:
    return legacy_charset(text).replace("\n", "\r\n").encode("cp932")


def euc_jp(text: str) -> bytes:
    return legacy_charset(text).encode("euc_jp")


def utf8_bom(text: str) -> bytes:
    return codecs.BOM_UTF8 + text.encode("utf-8")


def half_width_digits(text: str) -> bytes:
    return text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).encode("utf-8")


def page_numbers(text: str) -> bytes:
    """A page number every 40 raw lines, some of them inside wrapped paragraphs."""
    lines = text.split("\n")
    out: list[str] = []
    for index, line in enumerate(lines, start=1):
        out.append(line)
        if index % 40 == 0:
            out.append(f"- {index // 40} -")
    return "\n".join(out).encode("utf-8")


def dropped_measure(text: str, number: str = "05") -> bytes:
    start = text.index(f"No {number} 推進事項")
    end = text.index("No ", start + 3)
    return (text[:start] + text[end:]).encode("utf-8")


def added_measure(text: str) -> bytes:
    return (text.rstrip() + "\n\n" + ADDED_MEASURE).encode("utf-8")


def missing_tag(text: str, number: str = "08") -> bytes:
    start = text.index(f"No {number} 推進事項")
    end = text.index("No ", start + 3)
    block = re.sub(r"\s*\[R3継続\]", "", text[start:end])
    return (text[:start] + block + text[end:]).encode("utf-8")


def others_in_department_list(text: str) -> bytes:
    """No 07 lists two departments and then 外."""
    start = text.index("No 07 推進事項")
    head, rest = text[:start], text[start:]
    rest = rest.replace("政策企画課、行政マネジメント課", "政策企画課、行政マネジメント課 外", 1)
    return (head + rest).encode("utf-8")


def city_name(number: int) -> str:
    """The ``number``-th city (市) of the official list other than 日立市, cycling over them:
    a real name, so the report is taken, and a distinct one for up to 700 numbers.
    Homonyms (伊達市, 府中市) are left out: a report naming one alone is refused."""
    return _CITIES[number % len(_CITIES)]


def _unique_cities() -> list[str]:
    cities = [m.name for m in all_municipalities() if m.kind == "city"]
    return [name for name in cities if cities.count(name) == 1 and name != "日立市"]


_CITIES = _unique_cities()


def other_city(text: str, number: int) -> bytes:
    """The sample as another city's report: a bulk of distinct reports for ingest tests."""
    return text.replace("日立市", city_name(number)).encode("utf-8")


def other_cities(folder: Path, text: str, numbers: range) -> Path:
    """A new ``folder`` of ``other_city`` reports, one file per number."""
    folder.mkdir()
    for number in numbers:
        (folder / f"r{number:04d}.txt").write_bytes(other_city(text, number))
    return folder


MARKUP_TITLE = "<img src=x onerror=window.__xss=1>市長の<script>window.__xss=2</script>発信"
MARKUP_DESCRIPTION = '市長が<b onmouseover="window.__xss=3">市政情報</b>を&lt;発信&gt;する。'


def markup_in_text(text: str) -> bytes:
    """No 01's title and description hold HTML, as a pasted report might: text, never markup."""
    start = text.index("No 01 推進事項")
    end = text.index("No 02 推進事項")
    block = text[start:end]
    block = block.replace("SNSを活用した市長による情報発信の充実", MARKUP_TITLE, 1)
    block = re.sub(
        r"事業内容 \n.*?\n\n達成状況",
        f"事業内容 \n{MARKUP_DESCRIPTION}\n\n達成状況",
        block,
        count=1,
        flags=re.S,
    )
    return (text[:start] + block + text[end:]).encode("utf-8")
