"""Property: rejoining drops nothing but line breaks, edge spaces and page furniture."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.parse import is_page_furniture, parse_report, rejoin

PIECES = st.sampled_from(
    [
        "市民",
        "サービス",
        "の",
        "推進",
        "。",
        "、",
        "Wi-Fi",
        "LAN",
        "No",
        "01",
        "１",
        "２",
        " ",
        "　",
        "・",
        "※",
        "①",
        "【主な実績】",
        "[R3継続]",
        "推進事項",
        "事業内容",
        "達成状況",
        "- 3 -",
        "外",
        "café",
        "11,050",
        "約",
        "53万人",
        "\f",
    ]
)
LINES = st.lists(st.lists(PIECES, max_size=12).map("".join), max_size=30)


def _visible(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_rejoin_drops_only_breaks_and_furniture(lines: list[str]) -> None:
    text = "\n".join(lines)
    kept = [line for line in lines if not is_page_furniture(line)]
    assert _visible("".join(line.text for line in rejoin(text))) == _visible("".join(kept))


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_line_ranges_are_ordered_and_inside_the_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    previous_last = 0
    for line in rejoin(text):
        assert previous_last <= line.first <= line.last <= len(lines)
        previous_last = line.last


@settings(max_examples=200, deadline=None)
@given(LINES)
def test_parser_never_crashes(lines: list[str]) -> None:
    parse_report("\n".join(lines))
