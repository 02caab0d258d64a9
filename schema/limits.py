"""Limits on what one request may ask, so that the API is safe to expose on a city network.

Each is configurable (``server/settings.py`` reads them from the environment); the defaults
suit the portal's queries with room to spare. ``schema/limiter.py`` enforces depth, aliases and
cost before a query is validated; ``MaxTokensLimiter`` caps the tokens as it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 8
    max_aliases: int = 15
    max_tokens: int = 2000
    max_page_size: int = 100
    max_cost: int = 25_000  # see schema/cost.py
