"""Ranking: the hits of a search in order, by BM25 or by year.

BM25 runs over the verified set, with term frequencies counted in the normalised fields
(``index/matching.py``) and a weight per field: a title match counts most. Ties go by the
snapshot's rank: newest year first, then municipality, number and key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from index.snapshot import K1, Array, Matches, Snapshot

_SCORE_SCALE = float(1 << 24)  # above any tie-break rank: an archive of up to 16M entries
_TITLE_WEIGHT = 3.0  # a match in the title counts three times one in any other field


def ranked(
    snapshot: Snapshot,
    found: Array,
    terms: Sequence[tuple[Matches, Matches | None]],
    sort: str,
    count: int,
    exact: Array | None = None,
) -> list[tuple[int, float]]:
    """The first ``count`` of ``found`` in ``sort`` order, with BM25 scores.

    BM25 over two groups: the title (weight 3) and everything else (weight 1), with the
    frequencies each term's matches carry: its exact matches, and where it matches by words
    only (its second matches, when given), the least frequency of its words, counted with the
    rest. ``exact`` (aligned with ``found``) marks the exact hits when some are not: they come
    first in relevance order, and first within each year in year order.
    """
    scores = np.zeros(len(found))
    title_norm, rest_norm = snapshot.title_norm[found], snapshot.rest_norm[found]
    for matches, by_words in terms:
        frequency = len(matches.docnums)
        idf = math.log(1 + (snapshot.population - frequency + 0.5) / (frequency + 0.5))
        # The term's frequencies spread over all entries, then read for the hits.
        dense = np.zeros(snapshot.size)
        dense[matches.docnums] = matches.in_title
        title = dense[found]
        dense[:] = 0
        if by_words is not None:
            dense[by_words.docnums] = by_words.in_rest
        dense[matches.docnums] = matches.in_rest  # where it matches exactly, that counts
        rest = dense[found]
        score = _TITLE_WEIGHT * (K1 + 1) * title / (title + title_norm)
        score += (K1 + 1) * rest / (rest + rest_norm)
        scores += idf * score
    rank = snapshot.rank[found]
    words_only = None if exact is None else ~exact
    if sort in ("fiscalYear", "-fiscalYear"):
        # Year, then score, then the unique tie-break rank: a total order.
        year = snapshot.year[found] if sort == "fiscalYear" else -snapshot.year[found]
        if words_only is None:
            first = np.lexsort((rank, -scores, year))[:count]
        else:
            first = np.lexsort((rank, -scores, words_only, year))[:count]
    else:
        # One float per hit, compared in C: the score, then the unique tie-break rank
        # (scores stay far below 2**53 / 2**24, so both parts are exact).
        keys = rank - scores * _SCORE_SCALE
        if words_only is None:
            first = _top(keys, np.arange(len(keys)), count)
        else:  # the exact hits, then the others, each group by its keys
            exact_hits = np.flatnonzero(~words_only)
            first = np.concatenate(
                (
                    _top(keys, exact_hits, count),
                    _top(keys, np.flatnonzero(words_only), count - len(exact_hits)),
                )
            )
    return [(int(found[i]), float(scores[i])) for i in first]


def _top(keys: Array, among: Array, count: int) -> Array:
    """The ``count`` of ``among`` (positions in ``keys``) with the smallest keys, in order."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if count < len(among):
        among = among[np.argpartition(keys[among], count)[:count]]
    return among[np.argsort(keys[among], kind="stable")]
