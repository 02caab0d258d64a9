"""Every expected failure has a code of its kind, and GraphQL, HTTP and the command line each
show every kind (``archive/errors.py``)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from graphql import GraphQLError

import archive
import index
import schema
import server
from archive.errors import KINDS, ArchiveError, Refused
from schema.errors import PublicError, _should_mask
from server.failures import EXIT_STATUS, Commands
from server.over_http import status


def _below(kind: type[ArchiveError]) -> Iterator[type[ArchiveError]]:
    for child in kind.__subclasses__():
        yield child
        yield from _below(child)


def _every_error() -> list[type[ArchiveError]]:
    """Every class below ``ArchiveError`` in our four packages, each module imported."""
    for package in (archive, index, schema, server):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    return list(_below(ArchiveError))


@pytest.mark.parametrize("error", _every_error(), ids=lambda error: error.__qualname__)
def test_every_error_is_of_one_kind_with_its_status(error: type[ArchiveError]) -> None:
    if error is PublicError:  # the schema's own: each carries the code its resolver chose
        return
    (kind,) = [kind for kind in KINDS if issubclass(error, kind)]
    assert error.code.isupper()
    if kind is Refused:  # a client tells refused input by this one code
        assert error.code == Refused.code
    assert status(error.code) == (400 if kind is Refused else 503)


@pytest.mark.parametrize("kind", KINDS)
def test_graphql_shows_each_kind_with_its_code(kind: type[ArchiveError]) -> None:
    error = GraphQLError("raised", path=["search"], original_error=kind("one line"))
    assert not _should_mask(error)
    assert error.extensions == {"code": kind.code, "reason": kind.code}


def test_graphql_shows_a_public_error_with_its_reason() -> None:
    refusal = PublicError("no such document", "NOT_FOUND", reason="NO_DOCUMENT")
    error = GraphQLError("raised", path=["document"], original_error=refusal)
    assert not _should_mask(error)
    assert error.extensions == {"code": "NOT_FOUND", "reason": "NO_DOCUMENT"}


@pytest.mark.parametrize("kind", [*KINDS, PublicError])
def test_the_command_line_ends_each_kind_in_one_line(kind: type[ArchiveError]) -> None:
    @click.group(cls=Commands)
    def group() -> None:
        pass

    @group.command()
    def work() -> None:
        raise kind("the index is locked by another writer")

    result = CliRunner().invoke(group, ["work"])
    assert result.exit_code == EXIT_STATUS
    assert result.output == "error: the index is locked by another writer\n"
