"""How well the archive reads figures and links measures, against hand judgements.

    .venv/bin/python bench/quality.py

Prints, for the sample with both fixtures and for held-out sentences, the precision and
recall of figures (value and unit) and how often a found figure has the judged
``approximate`` flag and label (judgements in ``tests/archive/indicator_judgements.py``);
then the precision and recall of the history rule's links over the three years
(judgements in ``tests/archive/test_lineage.py``), and on the hard cases
(``tests/archive/lineage_cases.py``): on what the rule was tuned on, on the cases set aside,
and on all.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.db import create_store_engine, upgrade  # noqa: E402
from tests.archive.test_indicators import Score, score_documents, score_held_out  # noqa: E402
from tests.archive.test_lineage import decisions, judged_groups  # noqa: E402


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
    with tempfile.TemporaryDirectory() as folder:
        engine = create_store_engine(f"sqlite:///{folder}/archive.sqlite3")
        upgrade(engine)
        found = decisions(engine)
        engine.dispose()
    print(
        f"{'history links':22s} pairs {found.gold_links:3d}  precision {found.precision:.3f}  "
        f"recall {found.recall:.3f}  no-self right {found.nones_right}/{found.nones}"
    )
    for wrong in found.wrong:
        print(f"    {wrong}")
    with tempfile.TemporaryDirectory() as folder:
        engine = create_store_engine(f"sqlite:///{folder}/archive.sqlite3")
        upgrade(engine)
        groups = judged_groups(engine)
        engine.dispose()
    for name, group in groups.items():
        print(
            f"{'history, ' + name:22s} pairs {group.gold_links:3d}  precision "
            f"{group.precision:.3f} ({group.links_right}/{group.links_made})  recall "
            f"{group.recall:.3f} ({group.gold_links_found}/{group.gold_links})"
        )
        for wrong in group.wrong if name != "all" else ():
            print(f"    {wrong}")
