"""The ``plan-archive`` command line.

Every command prints plain lines a person can act on. Expected failures are one line on
stderr and a non-zero exit; nothing prints a traceback unless ``--debug`` asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archive.layouts import LAYOUTS
from schema.choices import FORMATS, SEARCH_ORDERS, YEARS
from server.failures import Commands
from server.failures import fail as _fail
from server.settings import Settings, SettingsError, default_help

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from index.highlights import Fragment

# The store (SQLAlchemy), the index (Whoosh) and the schema (Strawberry) are imported by the
# commands that use them, so that `plan-archive --help` starts at once.

_YEAR = click.IntRange(*YEARS)  # a Western fiscal year, four digits as the HTTP export checks


class _Obj:
    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings.from_env(os.environ)
            except SettingsError as error:  # a value the operator set: their mistake
                _fail(str(error))
        return self._settings


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """plan-archive: an archive of Japanese municipal plan reports.

    Configuration comes from PLAN_ARCHIVE_DATA_DIR and PLAN_ARCHIVE_DATABASE_URL (or .env).
    """
    ctx.obj = _Obj(debug)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--fiscal-year", type=int, help="Western fiscal year of the report(s), e.g. 2020.")
@click.option("--municipality", help="Municipality of the report(s), e.g. 日立市.")
@click.option(
    "--strict", is_flag=True, help="Refuse files without measures instead of archiving them."
)
@click.option(
    "--layout",
    metavar="NAME",
    help=f"Read with this layout profile ({', '.join(LAYOUTS)}) instead of the best fit.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path, dir_okay=False),
    help="For spreadsheets (.xlsx, .csv): a TOML or JSON file naming the columns of each field "
    "(README, 'Spreadsheets'); without it the usual 事務事業評価 column names are used.",
)
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Files per store transaction and index commit.",
)
@click.option(
    "--nice",
    type=click.IntRange(0, 19),
    help="Lower this run's CPU priority by N (0: as it is), so that a server on the same "
    f"machine answers first.  {default_help('PLAN_ARCHIVE_INGEST_NICE')}",
)
@click.option(
    "--store-only",
    is_flag=True,
    help="Write the store only: the servers of every node bring their own indexes up from "
    "the store's log (docs/deployment.md), this data folder's index included.",
)
@click.pass_obj
def ingest(
    obj: _Obj,
    paths: tuple[Path, ...],
    fiscal_year: int | None,
    municipality: str | None,
    strict: bool,
    layout: str | None,
    mapping: Path | None,
    batch: int,
    nice: int | None,
    store_only: bool,
) -> None:
    """Ingest report files, or every file under a folder.

    Files are written --batch at a time in one store transaction, each in a savepoint of
    its own, so a refused file costs only itself; then the search index is brought up to
    date in one commit. Each file's line is printed once its batch is committed: stored,
    unchanged, replaced, archived without structure, or refused with the reason. An
    interrupted run leaves whole batches stored and the rest of the index work queued;
    running it again finishes the job (files already stored come back unchanged). On a
    terminal a progress line shows on stderr. Exits 1 if any file was refused.

    The run yields the CPU to other work (--nice): with a server on the same cores, an
    ingest slows its answers down far less, and takes longer only when they compete.
    """
    if layout is not None and layout not in LAYOUTS:
        _fail(f"unknown layout {layout!r}; known layouts: {', '.join(LAYOUTS)}")
    sheet_mapping = None
    if mapping is not None:
        from archive.sheets import load_mapping

        try:
            sheet_mapping = load_mapping(mapping)
        except ValueError as error:
            _fail(f"--mapping {mapping}: {error}")
    from tqdm import tqdm

    from index.ingest import IndexNote, Ingest, Reading
    from server.resources import open_store

    settings = obj.settings
    nice = settings.ingest_nice if nice is None else nice
    if nice:
        with contextlib.suppress(OSError):  # helpers (index, PDF reading) inherit it
            os.nice(nice)
    run = Ingest(
        _open(obj, index=True),
        index_dir=settings.index_dir,
        retention=settings.index_log_retention,
        open_store=functools.partial(open_store, settings),
        reading=Reading(
            fiscal_year, municipality, strict, settings.pdf_limits, layout, sheet_mapping
        ),
        batch=batch,
        store_only=store_only,
        raise_errors=obj.debug,
    )
    tally: list[tuple[str, int]] = []  # (outcome, measures) of each file, for the metrics
    # On a terminal: files, measures and rate on one line of stderr, cleared for each line
    # of output (tqdm.external_write_mode) so the two never mix; elsewhere nothing.
    progress = tqdm(
        desc="0 files, ",
        bar_format="{desc}{n:,} measures, {rate_noinv_fmt}",
        unit=" measures",
        smoothing=0,  # the run's average rate
        # One line, as it is: tqdm would trim it to the terminal's width, and hide it on a
        # terminal of unknown height.
        ncols=0,
        nrows=2,
        leave=False,
        disable=None,
    )
    with progress:
        for outcome in run.run(paths):
            if isinstance(outcome, IndexNote):
                line = f"search index{outcome}" if outcome else ""
            else:
                tally.append((outcome.outcome, outcome.measure_count))
                progress.set_description_str(f"{len(tally)} files, ", refresh=False)
                progress.update(outcome.measure_count)
                line = f"{outcome.source}: {outcome.describe()}"
            if line:
                with tqdm.external_write_mode():
                    click.echo(line)
    _count_ingests(settings, tally)
    if any(outcome in ("refused", "failed") for outcome, _ in tally):
        raise SystemExit(1)


def _count_ingests(settings: Settings, tally: list[tuple[str, int]]) -> None:
    """Add this run's files to the figures of ``plan-archive serve`` on the same data folder
    (when one has run: its folder of figures exists), which its /metrics then sums with its
    workers' own. This process is gone before any scrape, so that folder is the only way."""
    folder = settings.metrics_folder
    if not (settings.metrics and tally and folder.is_dir()):
        return
    if "prometheus_client" in sys.modules and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return  # run inside a process that keeps its figures in memory (tests): not ours
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # before prometheus_client loads
    from server.metrics import Metrics

    try:
        metrics = Metrics(folder)
        for outcome, measures in tally:
            metrics.ingest("cli", outcome, measures)
    except OSError:  # the folder went away: the figures are a courtesy, the output the record
        logging.getLogger("plan_archive.ingest").debug("no metrics written", exc_info=True)


def _index(sessions: sessionmaker[Session], settings: Settings) -> str:
    """Bring this data folder's index up to the store's log; say so only when it could not."""
    from index.ingest import follow_index

    return follow_index(sessions, settings.index_dir, settings.index_log_retention)


@cli.command()
@click.option("--municipality", required=True, help="Municipality of the report, e.g. 日立市.")
@click.option("--fiscal-year", required=True, type=int, help="Western fiscal year, e.g. 2020.")
@click.pass_obj
def delete(obj: _Obj, municipality: str, fiscal_year: int) -> None:
    """Delete one stored report (its measures too) from the store and the index."""
    from archive.db import reader, writer
    from archive.ingest import delete_document, find_document

    engine = _open(obj, index=True)
    with writer(engine)() as db, db.begin():
        document = find_document(db, municipality, fiscal_year)
        deleted = delete_document(db, document.id) if document else None
    if deleted is None:
        _fail(f"no report of {municipality} {fiscal_year} is stored")
    click.echo(
        f"deleted {municipality} {fiscal_year} ({deleted} measures)"
        f"{_index(reader(engine), obj.settings)}"
    )
    engine.dispose()


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@click.option("--fiscal-year", "fiscal_years", type=_YEAR, multiple=True, help="Only this year.")
@click.option("--department", "departments", multiple=True, help="Only this department.")
@click.option(
    "--sort",
    type=click.Choice(list(SEARCH_ORDERS)),
    default="relevance",
    show_default=True,
    help="Order of the hits.",
)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100), help="Hits.")
@click.pass_obj
def search(
    obj: _Obj,
    words: tuple[str, ...],
    fiscal_years: tuple[int, ...],
    departments: tuple[str, ...],
    sort: str,
    limit: int,
) -> None:
    """The same search as the API, printed for a terminal: the measures (hits, highlights and
    facets), then the documents archived without structure that match, with excerpts.

    The words form one query, so quotes are only needed for phrases; an excluded first term
    (-SNS) works as it is.
    """
    from archive.db import reader
    from archive.queries import index_rows_by_key
    from index.highlights import highlight, highlight_labels
    from schema.connections import search_results
    from schema.document_search import DocumentSearchFilter, document_search_results
    from schema.types import MeasureFilter
    from server.resources import open_searcher

    query = " ".join(words)
    engine = _open(obj, index=True)
    # The store may have changed through another process or node since this folder's index
    # last followed its log: catch up first, as a server's follower would (#19).
    behind = _index(reader(engine), obj.settings)
    if behind:
        click.echo(f"plan-archive: {behind.removeprefix('; ')}", err=True)
    searcher = open_searcher(obj.settings)
    click.get_current_context().call_on_close(searcher.close)
    where = MeasureFilter(
        fiscal_years=list(fiscal_years) or None, departments=list(departments) or None
    )
    # Documents archived without structure have no department: a department filter leaves
    # none of them.
    document_filter = DocumentSearchFilter(fiscal_years=where.fiscal_years)
    with reader(engine)() as db:
        results = search_results(
            db, searcher, query, where, SEARCH_ORDERS[sort], offset=0, limit=limit
        )
        documents = None
        if not departments:
            documents = document_search_results(
                db, searcher, query, document_filter, SEARCH_ORDERS[sort], offset=0, limit=limit
            )
        keys = [hit.key for hit in results.hits + (documents.hits if documents else [])]
        rows = index_rows_by_key(db, keys)
    exact = f" ({results.exact_total} exact)" if results.exact_total != results.total else ""
    click.echo(f"{results.total} {'hit' if results.total == 1 else 'hits'}{exact} for {query}")
    for rank, hit in enumerate(results.hits, start=1):
        row = rows.get(hit.key)
        if row is None:
            continue  # removed from the store since the index was read
        label = f"No {hit.number}" if hit.number else "document"
        click.echo(f"\n{rank}. {hit.fiscal_year} {hit.municipality} {label}  {row.fields['title']}")
        by_words = ", by words" if hit.matched_by == "words" else ""
        click.echo(f"   score {hit.score:.2f}{by_words}")
        shown = highlight(row.fields, hit.matched) + highlight_labels(hit.labels, row.labels)
        for found in shown:
            for fragment in found.fragments:
                click.echo(f"   {found.field}: {_terminal(fragment)}")
    if results.total:
        years = ", ".join(f"{f.value}: {f.count}" for f in results.fiscal_years)
        click.echo(f"\nfiscal years  {years}")
        top = ", ".join(f"{f.value}: {f.count}" for f in results.departments[:8])
        click.echo(f"departments   {top}")
    if documents is not None and documents.total:
        noun = "document" if documents.total == 1 else "documents"
        click.echo(f"\n{documents.total} {noun} without structure for {query}")
        for rank, hit in enumerate(documents.hits, start=1):
            row = rows.get(hit.key)
            if row is None:
                continue
            click.echo(f"\n{rank}. {hit.fiscal_year} {hit.municipality}  {row.fields['title']}")
            click.echo(f"   score {hit.score:.2f}")
            for excerpt in highlight(row.fields, hit.matched):
                for fragment in excerpt.fragments:
                    click.echo(f"   {excerpt.field}: {_terminal(fragment)}")
    searcher.close()
    engine.dispose()


@cli.command()
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="CSV (UTF-8 with BOM, for spreadsheets) or JSON Lines.",
)
@click.option(
    "--query", help="A full-text search (the API's syntax); without it, the measure list."
)
@click.option("--fiscal-year", "fiscal_years", type=_YEAR, multiple=True, help="Only this year.")
@click.option("--fiscal-year-from", type=_YEAR, help="Only this year and later.")
@click.option("--fiscal-year-to", type=_YEAR, help="Only this year and earlier.")
@click.option("--department", "departments", multiple=True, help="Only this department.")
@click.option("--municipality", "municipalities", multiple=True, help="Only this municipality.")
@click.option("--pillar", "pillars", multiple=True, help="Only this pillar (exact title).")
@click.option("--next-year-status", "statuses", multiple=True, help="Only this tag: 継続, 完了…")
@click.option("--order", help="relevance (searches), fiscalYear or -fiscalYear; as the API.")
@click.option("--limit", type=click.IntRange(1, None), help="At most this many rows.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File to write (default: standard output).",
)
@click.pass_obj
def export(
    obj: _Obj,
    format_: str,
    query: str | None,
    fiscal_years: tuple[int, ...],
    fiscal_year_from: int | None,
    fiscal_year_to: int | None,
    departments: tuple[str, ...],
    municipalities: tuple[str, ...],
    pillars: tuple[str, ...],
    statuses: tuple[str, ...],
    order: str | None,
    limit: int | None,
    output: Path | None,
) -> None:
    """Export measures, or a search's hits, as CSV or JSON Lines.

    The same filters and order as the API's measures and search; every repeated option means
    any of its values. A file given with --output appears only once it is whole.
    """
    from archive.db import reader
    from schema.export import prepare_export
    from schema.types import MeasureFilter
    from server.resources import open_searcher

    where = MeasureFilter(
        fiscal_years=list(fiscal_years) or None,
        fiscal_year_from=fiscal_year_from,
        fiscal_year_to=fiscal_year_to,
        departments=list(departments) or None,
        municipalities=list(municipalities) or None,
        pillars=list(pillars) or None,
        next_year_statuses=list(statuses) or None,
    )
    engine = _open(obj, index=True)
    searcher = open_searcher(obj.settings)
    click.get_current_context().call_on_close(searcher.close)
    with reader(engine)() as db:  # one transaction: the whole file from one snapshot
        found = prepare_export(db, searcher, query=query, where=where, order=order, limit=limit)
        if output is None:
            with click.open_file("-", "wb") as stdout:
                for chunk in found.chunks(format_):
                    stdout.write(chunk.encode())
            return
        partial = output.with_name(output.name + ".part")
        try:
            with partial.open("wb") as file:
                for chunk in found.chunks(format_):
                    file.write(chunk.encode())
            partial.replace(output)
        except OSError as error:
            partial.unlink(missing_ok=True)
            _fail(f"cannot write {output}: {error.strerror or error}")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    click.echo(f"exported {found.count} measures to {output}", err=True)


def _measure(db: Any, municipality: str | None, fiscal_year: int, number: str) -> Any:
    from archive.queries import find_measures

    found = find_measures(
        db, fiscal_year, number.zfill(2) if number.isdigit() else number, municipality
    )
    if not found:
        _fail(f"no measure No {number} of {fiscal_year} is stored")
    if len(found) > 1:
        cities = ", ".join(d.municipality for _, d in found)
        _fail(f"No {number} of {fiscal_year} is stored for {cities}: give --municipality")
    return found[0]


def _figures(achievement: str) -> str:
    from archive.indicators import extract

    return ", ".join(f"{f.label + ' ' if f.label else ''}{f.text}" for f in extract(achievement))


@cli.command()
@click.argument("number")
@click.option("--fiscal-year", required=True, type=int, help="The year of the measure.")
@click.option("--municipality", help="Needed when several municipalities have that year.")
@click.pass_obj
def history(obj: _Obj, number: str, fiscal_year: int, municipality: str | None) -> None:
    """The measure NUMBER of --fiscal-year in every year: number, title, departments,
    next-year tag, carry-over flags and figures."""
    from archive.compare import carry_over_flags
    from archive.db import reader
    from archive.lineage import history_by_measure_ids
    from archive.queries import departments_by_measure_ids

    engine = _open(obj)
    with reader(engine)() as db:
        measure, document = _measure(db, municipality, fiscal_year, number)
        rows = history_by_measure_ids(db, [measure.id])[0]
        ids = [m.id for m, _ in rows]
        departments = departments_by_measure_ids(db, ids)
        flags = carry_over_flags(db, ids)
        click.echo(f"{document.municipality} No {measure.number} {measure.title}")
        for (m, d), names, flagged in zip(rows, departments, flags, strict=True):
            tag = m.carry_over_tag or "(no tag)"
            click.echo(f"\n{d.fiscal_year} No {m.number} {m.title}  {tag}")
            click.echo(f"   departments: {'、'.join(x.name for x in names)}")
            if flagged:
                click.echo(f"   flags: {', '.join(flagged)}")
            figures = _figures(m.achievement)
            if figures:
                click.echo(f"   figures: {figures}")
    engine.dispose()


@cli.command()
@click.argument("number")
@click.option("--fiscal-year", required=True, type=int, help="The year of the measure.")
@click.option("--with", "other_year", required=True, type=int, help="The year to compare with.")
@click.option("--municipality", help="Needed when several municipalities have that year.")
@click.pass_obj
def compare(
    obj: _Obj, number: str, fiscal_year: int, other_year: int, municipality: str | None
) -> None:
    """What changed in the measure NUMBER of --fiscal-year against its self in --with."""
    from archive.compare import compare as compare_measure
    from archive.db import reader

    engine = _open(obj)
    with reader(engine)() as db:
        measure, document = _measure(db, municipality, fiscal_year, number)
        found = compare_measure(db, measure.id, other_year)
        if found is None:
            _fail(f"No {measure.number} of {fiscal_year} has no self in {other_year}")
        (old, old_doc), (new, new_doc) = found.before, found.after
        click.echo(
            f"{document.municipality}: {old_doc.fiscal_year} No {old.number} → "
            f"{new_doc.fiscal_year} No {new.number}"
        )
        if found.title_changed:
            click.echo(f"title: {old.title} → {new.title}")
        else:
            click.echo(f"title: {new.title} (unchanged)")
        for old_name, new_name in found.renamed:
            click.echo(f"department renamed: {old_name} → {new_name}")
        for name in found.departments_removed:
            click.echo(f"department removed: {name}")
        for name in found.departments_added:
            click.echo(f"department added: {name}")
        click.echo(f"next year: {old.carry_over_tag or '-'} → {new.carry_over_tag or '-'}")
        for change in found.figures:
            label = f"{change.label} " if change.label else ""
            before = change.before.text if change.before else "-"
            after = change.after.text if change.after else "-"
            delta = f"  ({change.delta:+,g})" if change.delta is not None else ""
            click.echo(f"figure: {label}{before} → {after}{delta}")
        for field, changes in (("事業内容", found.description), ("達成状況", found.achievement)):
            if all(c.op == "equal" for c in changes):
                click.echo(f"{field}: unchanged")
                continue
            marked = "".join(
                c.text if c.op == "equal" else f"[{'-' if c.op == 'delete' else '+'}{c.text}]"
                for c in changes
            )
            click.echo(f"{field}: {marked}")
    engine.dispose()


@cli.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def link(obj: _Obj, file: Path | None) -> None:
    """Load a curation file (measure links and department renames), replacing the current
    corrections; without FILE, print the current ones in the file's format (see README)."""
    from archive import curation
    from archive.db import reader, writer

    engine = _open(obj)
    if file is None:
        with reader(engine)() as db:
            click.echo(curation.dump(db), nl=False)
        engine.dispose()
        return
    try:
        corrections = curation.parse(file.read_text(encoding="utf-8"))
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror or error}")
    except UnicodeDecodeError:
        _fail(f"{file} is not UTF-8 text")
    except curation.CurationError as error:
        _fail(f"{file}: {error}")
    with writer(engine)() as db, db.begin():
        curation.replace(db, corrections)
    click.echo(
        f"loaded {len(corrections.links)} measure links and "
        f"{len(corrections.renames)} department renames from {file}"
    )
    engine.dispose()


def _terminal(fragment: Fragment) -> str:
    """The fragment with its matches in bold on a terminal, else in [brackets]."""
    bold = sys.stdout.isatty()
    return "".join(
        (click.style(piece, bold=True) if bold else f"[{piece}]") if matched else piece
        for piece, matched in fragment.pieces()
    )


@cli.command()
@click.pass_obj
def reindex(obj: _Obj) -> None:
    """Rebuild the full-text index from the store; searches use the old one until it is done."""
    from archive.db import reader
    from index.writing import rebuild

    engine = _open(obj)
    built = rebuild(reader(engine), obj.settings.index_dir)
    rate = built.rows / built.seconds if built.seconds else 0.0
    click.echo(
        f"reindexed {built.rows} entries from {built.documents} "
        f"document{'' if built.documents == 1 else 's'} "
        f"in {built.seconds:.1f} s ({rate:.0f}/s)"
    )
    engine.dispose()


@cli.command(name="check")
@click.option("--repair", "fix", is_flag=True, help="Re-index what is missing or stale.")
@click.pass_obj
def check_command(obj: _Obj, fix: bool) -> None:
    """Report entries missing from or stale in the index; exit 1 if any (unless repaired)."""
    from archive.db import reader
    from index.writing import check, repair

    engine = _open(obj, index=True)
    found = (
        repair(reader(engine), obj.settings.index_dir)
        if fix
        else check(reader(engine), obj.settings.index_dir)
    )
    engine.dispose()
    if found.consistent:
        click.echo("index and store agree")
        return
    for name, keys in (("missing", found.missing), ("stale", found.stale), ("extra", found.extra)):
        if keys:
            shown = ", ".join(keys[:10]) + (" …" if len(keys) > 10 else "")
            click.echo(f"{name}: {len(keys)} ({shown})")
    if found.pending:
        click.echo(f"pending: {found.pending} queued index updates")
    if found.damaged:
        click.echo("damaged: the current index cannot be read; --repair rebuilds it")
    if fix:
        click.echo("repaired")
        return
    raise SystemExit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.pass_obj
def serve(obj: _Obj, host: str, port: int, workers: int) -> None:
    """Serve the GraphQL API at /graphql and health at /healthz."""
    import uvicorn

    from server import balance
    from server.connections import uvicorn_options

    _open(obj, index=True).dispose()  # migrate once here, and fail early with one line
    settings = obj.settings
    with contextlib.ExitStack() as held:
        if settings.metrics:
            # Every worker's figures go to files in one folder, summed by each scrape; the
            # variable must be set before prometheus_client is imported (docs/decisions/0006).
            folder = settings.metrics_folder
            held.enter_context(_lock_metrics_folder(folder))  # until this process ends
            for old in folder.glob("*.db"):  # the last run's figures: its workers are gone
                old.unlink(missing_ok=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        from server.logs import configure_logging

        configure_logging(settings.log_format)
        os.environ.pop(balance.FOLDER_VARIABLE, None)  # a shell's, or a parent server's
        if workers > 1:  # the workers spread their connections evenly (server/balance.py)
            counts = tempfile.TemporaryDirectory(prefix="plan-archive-workers-")
            os.environ[balance.FOLDER_VARIABLE] = held.enter_context(counts)
        click.echo(
            f"plan-archive: search page at http://{host}:{port}/, "
            f"GraphQL at http://{host}:{port}/graphql",
            err=True,
        )
        uvicorn.run(
            "server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,  # uvicorn's lines go through our handler, with the request id
            log_level="info",
            access_log=False,  # our access line (server/middleware.py) replaces uvicorn's
            **uvicorn_options(settings),  # slow and idle clients are cut (server/connections.py)
        )


@contextlib.contextmanager
def _lock_metrics_folder(folder: Path) -> Iterator[None]:
    """Hold ``<folder>/.lock`` (Whoosh's file lock, as index rebuilds do) while serving; the
    kernel lets go when the process ends, however it ends. Fail with one line when another
    live server holds it: its figures are in that folder, and emptying it would erase them."""
    from whoosh.util.filelock import FileLock

    lock = FileLock(str(folder / ".lock"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        taken = lock.acquire(blocking=False)
    except OSError as error:
        _fail(f"cannot use the metrics folder {folder}: {error.strerror or error}")
    if not taken:
        _fail(
            f"another plan-archive serve is using {folder}; stop it, or give this one its own "
            "PROMETHEUS_MULTIPROC_DIR (or PLAN_ARCHIVE_DATA_DIR)"
        )
    try:
        yield
    finally:
        lock.release()


@cli.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from schema.root import build_schema

    click.echo(build_schema().as_str())


def _open(obj: _Obj, index: bool = False) -> Engine:
    """The store, disposed of when the command ends, however it ends (an early ``_fail``
    too: a PostgreSQL connection left open would linger until the process exits).

    With ``index``, for commands that use the search index: an index in an earlier
    plan-archive's format is first rebuilt from the store."""
    from index.writing import outdated
    from server.resources import open_store

    try:
        engine = open_store(obj.settings)
    except SettingsError as error:
        _fail(str(error))
    click.get_current_context().call_on_close(engine.dispose)
    if index and outdated(obj.settings.index_dir):
        _upgrade_index(engine, obj.settings.index_dir)
    return engine


def _upgrade_index(engine: Engine, index_dir: Path) -> None:
    """Rebuild an index of an earlier format, saying so in one line (and, on a terminal,
    showing the documents read so far)."""
    from archive.db import reader
    from index.writing import upgrade

    click.echo(
        "plan-archive: the search index is in an earlier plan-archive's format; "
        "rebuilding it in Whoosh from the store (once)",
        err=True,
    )
    shown = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if shown:
            click.echo(f"\r{done:,} of {total:,} documents indexed", nl=False, err=True)

    try:
        upgrade(reader(engine), index_dir, progress=progress)
    finally:
        if shown:
            click.echo("\r\033[K", nl=False, err=True)


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
        from archive.errors import first_line

        click.echo(f"error: unexpected {type(error).__name__}: {first_line(error)}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
