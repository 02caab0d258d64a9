"""The ``plan-archive`` command line.

Every command prints plain lines a person can act on. Expected failures are one line on
stderr and a non-zero exit; nothing prints a traceback unless ``--debug`` asks for it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from archive.db import writer
from archive.errors import DocumentRefused
from archive.ingest import prepare_document, store_document
from server.resources import StoreUnavailable, open_store
from server.settings import Settings, SettingsError


class _Obj:
    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env(os.environ)
        return self._settings


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """plan-archive: an archive of Japanese municipal plan reports.

    Configuration comes from PLAN_ARCHIVE_DATA_DIR and PLAN_ARCHIVE_DATABASE_URL (or .env).
    """
    ctx.obj = _Obj(debug)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--fiscal-year", type=int, help="Western fiscal year of the report(s), e.g. 2020.")
@click.option("--municipality", help="Municipality of the report(s), e.g. 日立市.")
@click.option(
    "--strict", is_flag=True, help="Refuse files without measures instead of archiving them."
)
@click.pass_obj
def ingest(
    obj: _Obj,
    paths: tuple[Path, ...],
    fiscal_year: int | None,
    municipality: str | None,
    strict: bool,
) -> None:
    """Ingest report files, or every file under a folder, one transaction per file.

    Prints one line per file: stored, unchanged, replaced, archived without structure, or
    refused with the reason. Exits 1 if any file was refused.
    """
    engine = _open(obj)
    sessions = writer(engine)
    refused = 0
    for path in _files(paths):
        try:
            data = path.read_bytes()
            prepared = prepare_document(
                data, path.name, fiscal_year=fiscal_year, municipality=municipality, strict=strict
            )
            with sessions() as db, db.begin():
                result = store_document(db, prepared)
        except DocumentRefused as refusal:
            refused += 1
            click.echo(f"{path}: refused: {refusal.reason}")
        except OSError as error:
            refused += 1
            click.echo(f"{path}: refused: cannot read the file ({error.strerror})")
        except SQLAlchemyError as error:
            refused += 1
            click.echo(f"{path}: refused: the store did not accept it ({_first_line(error)})")
            if obj.debug:
                raise
        else:
            click.echo(f"{path}: {result.describe()}")
    engine.dispose()
    if refused:
        raise SystemExit(1)


def _files(paths: tuple[Path, ...]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path  # a missing file is refused when it is read


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.pass_obj
def serve(obj: _Obj, host: str, port: int, workers: int) -> None:
    """Serve the GraphQL API at /graphql and health at /healthz."""
    import uvicorn

    _open(obj).dispose()  # migrate once here, and fail early with one line
    click.echo(f"plan-archive: GraphQL at http://{host}:{port}/graphql", err=True)
    uvicorn.run("server.app:app_from_env", factory=True, host=host, port=port, workers=workers)


@cli.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from schema import build_schema

    click.echo(build_schema().as_str())


def _open(obj: _Obj) -> Any:
    try:
        return open_store(obj.settings)
    except (SettingsError, StoreUnavailable) as error:
        _fail(str(error))


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).splitlines()[0] if str(original) else type(original).__name__


def main() -> None:
    """Console entry point: unexpected errors become one line unless --debug is given."""
    debug = "--debug" in sys.argv[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(1) from None
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except SystemExit:
        raise
    except Exception as error:
        if debug:
            raise
        click.echo(f"error: unexpected {type(error).__name__}: {_first_line(error)}", err=True)
        raise SystemExit(1) from None
