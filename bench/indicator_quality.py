"""How well ``archive.indicators`` reads figures: precision and recall against hand judgements.

    .venv/bin/python bench/indicator_quality.py

Prints, for the sample with both fixtures and for the held-out sentences, the precision and
recall of figures (value and unit), and how often a found figure has the judged
``approximate`` flag and label. The judgements are in ``tests/archive/indicator_judgements.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.archive.test_indicators import Score, score_documents, score_held_out  # noqa: E402


def show(name: str, score: Score) -> None:
    print(
        f"{name:22s} figures {score.judged:3d}  precision {score.precision:.3f}  "
        f"recall {score.recall:.3f}  approximate {score.approximate_right}/{score.found_right}"
        f"  label {score.label_right}/{score.found_right}"
    )
    for miss in score.misses:
        print(f"    {miss}")


if __name__ == "__main__":
    show("sample + fixtures", score_documents())
    show("held-out sentences", score_held_out())
