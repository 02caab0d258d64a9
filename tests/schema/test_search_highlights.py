"""Highlights as the API gives them: HTML-escaped fragments of the original text, the
matches in <mark>…</mark>."""

from __future__ import annotations

from index.highlights import highlight
from schema.highlights import html_fragments


def test_highlights_mark_the_original_text() -> None:
    fields = {"title": "公衆無線 LAN（Ｗｉ－Ｆｉ）<整備>", "description": "関係なし"}
    found = highlight(fields, ["wifi", "lan"])
    assert [h.field for h in found] == ["title"]
    assert html_fragments(found[0]) == [
        "公衆無線 <mark>LAN</mark>（<mark>Ｗｉ－Ｆｉ</mark>）&lt;整備&gt;"
    ]


def test_highlight_fragments_stay_short_around_matches() -> None:
    text = "あ" * 200 + "人事\n評価" + "い" * 200
    fragment = html_fragments(highlight({"achievement": text}, ["人事評価"])[0])[0]
    assert "<mark>人事\n評価</mark>" not in fragment
    assert "<mark>人事 評価</mark>" in fragment
    assert fragment.startswith("…")
    assert fragment.endswith("…")
    assert len(fragment) < 120
