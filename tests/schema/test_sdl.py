"""The committed SDL is the contract: a diff here is a deliberate contract change.

Regenerate with ``plan-archive schema > tests/schema/schema.graphql`` after review. A change
that can break a client must also be recorded in the CHANGELOG (the second test).
"""

from __future__ import annotations

from pathlib import Path

from graphql import build_ast_schema, find_breaking_changes, parse

from schema.root import build_schema

SDL_FILE = Path(__file__).with_name("schema.graphql")


def test_schema_matches_the_committed_sdl() -> None:
    assert build_schema().as_str() + "\n" == SDL_FILE.read_text(encoding="utf-8")


RELEASED_FILE = Path(__file__).with_name("schema.released.graphql")
CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"


def test_no_breaking_change_goes_unrecorded() -> None:
    """Every change since the released contract (``schema.released.graphql``) that can break
    a client, as graphql-core lists them (a field or type removed, a type changed, an
    argument added as required...), is named in the CHANGELOG's Unreleased section on a
    line that says "Breaking". At a release, the current SDL becomes the released one."""
    released = build_ast_schema(parse(RELEASED_FILE.read_text(encoding="utf-8")))
    breaking = find_breaking_changes(released, build_schema()._schema)
    changelog = CHANGELOG.read_text(encoding="utf-8")
    unreleased = changelog.split("\n## ")[1]
    assert unreleased.startswith("Unreleased")
    recorded = "\n".join(line for line in unreleased.splitlines() if "Breaking" in line)
    assert [change.description for change in breaking if change.description not in recorded] == []
