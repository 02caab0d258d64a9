"""Figures read from 達成状況, measured against hand judgements (``indicator_judgements``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from archive.indicators import extract
from archive.ingest import prepare_document
from tests.archive.indicator_judgements import DOCUMENTS, HELD_OUT, Figure

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Score:
    judged: int = 0
    found: int = 0
    found_right: int = 0  # found figures that match a judged one (value and unit)
    approximate_right: int = 0
    label_right: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.found_right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.found_right / self.judged if self.judged else 1.0

    def add(self, where: str, text: str, judged: list[Figure]) -> None:
        found = list(extract(text))
        self.judged += len(judged)
        self.found += len(found)
        left = list(judged)
        for figure in found:
            match = next(
                (
                    j
                    for j in left
                    if math.isclose(j[0], figure.value, rel_tol=1e-9) and j[1] == figure.unit
                ),
                None,
            )
            if match is None:
                self.misses.append(f"{where}: extra {figure.text!r}")
                continue
            left.remove(match)
            self.found_right += 1
            self.approximate_right += match[2] == figure.approximate
            if match[3] == figure.label:
                self.label_right += 1
            else:
                self.misses.append(
                    f"{where}: {figure.text!r} label {figure.label!r} ≠ {match[3]!r}"
                )
        self.misses += [f"{where}: missed {j[0]:g}{j[1]}" for j in left]


def score_documents() -> Score:
    score = Score()
    for path, judged in DOCUMENTS.items():
        report = prepare_document((ROOT / path).read_bytes(), Path(path).name).report
        assert report is not None
        for measure in report.measures:
            score.add(
                f"{Path(path).stem} No {measure.number}",
                measure.achievement,
                judged.get(measure.number, []),
            )
    return score


def score_held_out() -> Score:
    score = Score()
    for text, judged in HELD_OUT:
        score.add(text, text, judged)
    return score


def test_figures_of_the_sample_and_fixtures() -> None:
    score = score_documents()
    assert score.recall >= 0.95, score.misses
    assert score.precision >= 0.95, score.misses
    assert score.approximate_right == score.found_right, score.misses


def test_figures_of_held_out_sentences() -> None:
    """Sentences the rule was not tuned on: a floor that catches a regression."""
    score = score_held_out()
    assert score.recall >= 0.75, score.misses
    assert score.precision >= 0.9, score.misses


def test_the_issue_list_for_the_sample() -> None:
    """Issue 5 names the sample's figures: each is read with its value, unit and flags."""
    report = prepare_document((ROOT / "sample/hitachi-action-plan-fy2020.txt").read_bytes(), "s")
    assert report.report is not None
    texts = {m.number: m.achievement for m in report.report.measures}
    by_number = {n: {(f.value, f.unit): f for f in extract(t)} for n, t in texts.items()}
    reach = by_number["01"][(530_000, "人")]
    assert reach.approximate
    assert reach.label == "累計リーチ"
    assert by_number["01"][(99, "件")].label == "投稿総数"
    half = by_number["11"][(0.5, "")]
    assert half.comparison == "程度"
    assert half.approximate
    for number, figure in [
        ("02", (11_050, "ダウンロード")),
        ("02", (8, "タイル")),
        ("06", (38, "校")),
        ("05", (12, "回")),
        ("10", (127, "回")),
        ("10", (81_200, "枚")),
        ("10", (647, "回")),
        ("07", (7, "件")),
        ("11", (110, "%")),
    ]:
        assert figure in by_number[number], (number, figure)


def test_span_offsets_point_at_the_printed_text() -> None:
    text = "２ 累計リーチ（延べ閲覧者数） 約 53万人、対前年比 110％"
    for figure in extract(text):
        assert text[figure.start : figure.end] == figure.text
    assert [f.text for f in extract(text)] == ["約 53万人", "110％"]
