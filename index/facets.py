"""Facets: counts by fiscal year and by department over the whole result of a search, not
only its page, and over its exact hits apart (#17 point 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.snapshot import Array, Snapshot


@dataclass(frozen=True)
class Facet:
    value: str
    count: int
    exact_count: int = 0  # of the hits that match exactly (#17 point 1)


def facets(
    snapshot: Snapshot, found: Array, is_exact: Array | None = None
) -> tuple[list[Facet], list[Facet]]:
    """Counts by year and department over ``found``, and over its exact hits (those
    ``is_exact`` marks; all of them when None), in one pass."""
    first_year = snapshot.first_year
    found_years = snapshot.year[found] - first_year
    per_year = np.bincount(found_years)  # a count, not a sort
    exact_per_year = (
        per_year
        if is_exact is None
        else np.bincount(found_years[is_exact], minlength=len(per_year))
    )
    years = np.flatnonzero(per_year)
    # 0: not a hit, 1: a hit by words only, 2: an exact hit
    chosen = np.zeros(len(snapshot.live), dtype=np.int8)
    chosen[found] = 2 if is_exact is None else 1 + is_exact
    of_pair = chosen[snapshot.pair_doc]
    size = len(snapshot.department_names)
    per_department = np.bincount(snapshot.pair_department[of_pair > 0], minlength=size)
    exact_per_department = (
        per_department
        if is_exact is None
        else np.bincount(snapshot.pair_department[of_pair == 2], minlength=size)
    )
    departments = sorted(
        (-int(c), snapshot.department_names[i], int(exact_per_department[i]))
        for i, c in enumerate(per_department)
        if c
    )
    return (
        [Facet(str(y + first_year), int(per_year[y]), int(exact_per_year[y])) for y in years],
        [Facet(name, -negative, exact) for negative, name, exact in departments],
    )
