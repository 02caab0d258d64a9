"""``Measure.similar``: the most alike measures of other municipalities or years (#17 point 4),
found on the index (``index/similar.py``), errors as a search gives them."""

from __future__ import annotations

from collections.abc import Collection

from index.search import SEARCH_TIMEOUT, Searcher
from index.similar import MOST, Alike, similar
from schema.errors import BAD_USER_INPUT, PublicError

DEFAULT = 5  # measures given without ``first``


def check_first(first: int | None) -> int:
    """How many to give: ``first`` (null: the default), refused outside 1 to ``MOST``."""
    if first is None:
        return DEFAULT
    if not 1 <= first <= MOST:
        raise PublicError(f"first must be between 1 and {MOST}", BAD_USER_INPUT)
    return first


def alike(
    searcher: Searcher,
    measure_id: int,
    exclude: Collection[int],
    first: int,
    timeout: float | None,
) -> list[Alike]:
    """``index.similar.similar``, within what remains of the request's ``timeout``."""
    return similar(
        searcher,
        measure_id,
        exclude=exclude,
        first=first,
        timeout=SEARCH_TIMEOUT if timeout is None else min(SEARCH_TIMEOUT, timeout),
    )
