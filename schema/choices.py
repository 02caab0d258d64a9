"""Closed sets the command line needs, without loading the GraphQL schema (Strawberry): the
order of search hits (``SearchOrder``, which ``schema.types`` makes a GraphQL enum), the
export formats the command line writes, the years a filter takes, and the fixed operation
labels of the figures an ingest adds to (``schema/operation_labels.py``)."""

from __future__ import annotations

import enum

FORMATS = ("csv", "jsonl")  # written as text, a chunk per batch (the command line's formats)
# Fixed operation labels; GraphQL names cannot contain "<", so neither collides with a real one.
INVALID = "<invalid>"
UNKNOWN = "<unknown>"
YEARS = (1000, 9999)  # a fiscal year in a filter: four digits, as the HTTP export and the CLI check


class SearchOrder(enum.Enum):
    RELEVANCE = "relevance"
    FISCAL_YEAR_ASC = "fiscalYear"
    FISCAL_YEAR_DESC = "-fiscalYear"


SEARCH_ORDERS = {order.value: order for order in SearchOrder}
