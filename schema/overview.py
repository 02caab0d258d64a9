"""``Query.overview``: measures counted per fiscal year, by next-year status, by pillar and by
department, for the whole archive, a filter, or a search (every hit, not a page of them).

The counting is the store's (``archive/overview.py``); a search only says which measures to
count: its hits, found as ``search`` finds them (the same syntax, filter and word matches),
so the overview of a search counts exactly the measures whose ``totalCount`` it shows.
"""

from __future__ import annotations

import strawberry

from archive.eras import western_to_era_label
from archive.overview import Tally, measure_overview
from schema.connections import archive_filter, search_results
from schema.context import Info
from schema.types import MeasureFilter, SearchOrder

EVERY_HIT = 1 << 62  # a search's limit that keeps every hit


@strawberry.type(description="How many measures a fiscal year has in an overview.")
class OverviewYear:
    fiscal_year: int = strawberry.field(description="Western year, e.g. 2020 for 令和2年度.")
    label: str = strawberry.field(description='The year as reports print it, e.g. "令和2年度".')
    count: int = strawberry.field(description="Measures of that year counted.")


@strawberry.type(
    description="How many measures of one fiscal year have one value (a next-year status, a "
    "pillar, a department) in an overview."
)
class OverviewCount:
    fiscal_year: int = strawberry.field(description="Western year, e.g. 2020 for 令和2年度.")
    value: str | None = strawberry.field(
        description="The value as printed (継続, a pillar's title, a department's name); null "
        "when the report prints none (no next-year tag, no pillar)."
    )
    count: int = strawberry.field(description="Measures of that year with that value.")

    @classmethod
    def from_tally(cls, tally: Tally) -> OverviewCount:
        return cls(fiscal_year=tally.fiscal_year, value=tally.value, count=tally.count)


@strawberry.type(
    description="Measures counted per fiscal year, by next-year status, by pillar (体系) and "
    "by department (担当部課所): over the whole archive, a filter, or every hit of a search. "
    "Lists are by fiscal year, ascending; a value's counts of every year sum to its total."
)
class Overview:
    total_count: int = strawberry.field(
        description="Measures counted: for a search, its hits (as `search.totalCount`)."
    )
    fiscal_years: list[OverviewYear] = strawberry.field(
        description="Measures per fiscal year, the years with none left out."
    )
    next_year_statuses: list[OverviewCount] = strawberry.field(
        description="Per year by next-year status (the [R3継続] tag's 継続, 完了, 新規…: "
        "`CarryOver.status`), going-on statuses first; null: no tag printed. Each year's "
        "counts sum to its measures."
    )
    pillars: list[OverviewCount] = strawberry.field(
        description="Per year by pillar (体系) title, in the reports' pillar order; null: the "
        "measure has no pillar. Each year's counts sum to its measures."
    )
    departments: list[OverviewCount] = strawberry.field(
        description="Per year by department, by name. A measure of two departments counts "
        "for each, so a year's counts may sum to more than its measures."
    )


def overview(info: Info, query: str | None, filter: MeasureFilter | None) -> Overview:
    """The overview of ``query``'s hits, or of the measures ``filter`` admits; a bad query is
    refused as ``search`` refuses it."""
    db = info.context.db
    measure_ids = None
    if query is not None:
        results = search_results(
            db,
            info.context.searcher,
            query,
            filter,
            SearchOrder.RELEVANCE,
            offset=0,
            limit=EVERY_HIT,
            timeout=info.context.remaining(),
        )
        measure_ids = [hit.measure_id for hit in results.hits if hit.measure_id is not None]
    found = measure_overview(db, archive_filter(filter), measure_ids)
    return Overview(
        total_count=found.total,
        fiscal_years=[
            OverviewYear(
                fiscal_year=tally.fiscal_year,
                label=western_to_era_label(tally.fiscal_year),
                count=tally.count,
            )
            for tally in found.fiscal_years
        ],
        next_year_statuses=[OverviewCount.from_tally(t) for t in found.next_year_statuses],
        pillars=[OverviewCount.from_tally(t) for t in found.pillars],
        departments=[OverviewCount.from_tally(t) for t in found.departments],
    )
