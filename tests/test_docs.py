"""The README tells the truth: its quick start, its commands, and its example queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.cli import cli
from server.settings import Settings
from tests.conftest import ROOT, graphql

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.graphql"))


def test_quick_start_is_two_commands() -> None:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["python3 dev.py serve", "python3 dev.py test"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented_with_help(name: str) -> None:
    assert f"`plan-archive {name}" in README
    assert cli.commands[name].help


def test_there_are_examples() -> None:
    assert EXAMPLES


@pytest.fixture(scope="module")
def three_years(three_years_archive: Settings) -> Iterator[TestClient]:
    """The sample and both fixtures, ingested oldest first (so ids are as the examples say)."""
    from server.app import create_app

    with TestClient(create_app(three_years_archive)) as client:
        yield client


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_queries_run_against_three_years(three_years: TestClient, path: Path) -> None:
    body = graphql(three_years, path.read_text(encoding="utf-8"))
    assert "errors" not in body
    assert all(value for value in body["data"].values())
