"""The committed SDL is the contract: a diff here is a deliberate contract change.

Regenerate with ``plan-archive schema > tests/schema/schema.graphql`` after review.
"""

from __future__ import annotations

from pathlib import Path

from schema import build_schema

SDL_FILE = Path(__file__).with_name("schema.graphql")


def test_schema_matches_the_committed_sdl() -> None:
    assert build_schema().as_str() + "\n" == SDL_FILE.read_text(encoding="utf-8")
