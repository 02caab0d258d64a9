"""The ingest engine: files prepared, stored in batches and indexed, one outcome per file."""

from __future__ import annotations

import functools
from pathlib import Path

from archive import db
from archive.errors import DocumentRefused
from archive.ingest import prepare_document
from index.ingest import Filed, IndexNote, Ingest, Reading, file_outcome, store_one
from index.writing import LOG_RETENTION, check
from tests.conftest import REPORTS
from tests.index.conftest import Archive


def _run(archive: Archive, paths: list[Path], **options: object) -> list[Filed | IndexNote]:
    url = archive.engine.url.render_as_string(hide_password=False)
    run = Ingest(
        archive.engine,
        index_dir=archive.index_dir,
        retention=LOG_RETENTION,
        open_store=functools.partial(db.create_store_engine, url),
        **options,  # type: ignore[arg-type]
    )
    return list(run.run(paths))


def test_a_folder_is_stored_and_indexed_with_one_outcome_per_file(
    archive: Archive, tmp_path: Path
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    for report in REPORTS:
        (folder / report.name).write_bytes(report.read_bytes())
    (folder / "z.txt").write_bytes(b"\x00\x01 not a report")
    (folder / ".hidden.txt").write_bytes(REPORTS[0].read_bytes())
    outcomes = _run(archive, [folder, tmp_path / "missing.txt"], batch=2)
    filed = [item for item in outcomes if isinstance(item, Filed)]
    assert [Path(item.source).name for item in filed] == [
        *sorted(r.name for r in REPORTS),
        "z.txt",
        "missing.txt",
    ]
    assert [item.outcome for item in filed] == ["stored"] * 3 + ["refused"] * 2
    assert [item.measure_count for item in filed] == [12, 12, 12, 0, 0]
    assert filed[-1].reason.startswith("cannot read the file")
    assert all(not note for note in outcomes if isinstance(note, IndexNote))
    assert check(archive.reader, archive.index_dir).consistent
    assert archive.searcher().search("fiscalYear:2020").total == 12


def test_a_run_never_replaces_its_own_files(archive: Archive) -> None:
    """Two reports read as one year: the second would replace the first, so it is refused."""
    outcomes = _run(archive, [REPORTS[0], REPORTS[2]], reading=Reading(fiscal_year=2020))
    first, second = [item for item in outcomes if isinstance(item, Filed)]
    assert first.outcome == "stored"
    assert second.outcome == "refused"
    assert "of this run is also 日立市 2020" in second.reason
    again = _run(archive, [REPORTS[0]], reading=Reading(fiscal_year=2020))
    assert [item.outcome for item in again if isinstance(item, Filed)] == ["unchanged"]


def test_store_only_leaves_the_index_to_follow_the_log(archive: Archive) -> None:
    outcomes = _run(archive, [REPORTS[1]], store_only=True)
    assert [item.outcome for item in outcomes if isinstance(item, Filed)] == ["stored"]
    assert not any(isinstance(item, IndexNote) for item in outcomes)
    assert not check(archive.reader, archive.index_dir).consistent


def test_one_upload_is_stored_in_its_own_transaction(archive: Archive) -> None:
    prepared = prepare_document(REPORTS[1].read_bytes(), "r.txt")
    writer = db.writer(archive.engine)
    assert store_one(writer, "r.txt", prepared).describe() == (
        "stored (日立市 2020, 12 measures, layout hitachi)"
    )
    assert store_one(writer, "r.txt", prepared).outcome == "unchanged"


def test_an_error_is_the_files_fault_only_when_it_is_a_refusal() -> None:
    refused = file_outcome("a.txt", DocumentRefused("a.txt", "no measures"))
    assert (refused.outcome, refused.describe()) == ("refused", "refused: no measures")
    failed = file_outcome("a.txt", RuntimeError("a bug"))
    assert failed.outcome == "failed"
    assert failed.reason == "internal error (RuntimeError); nothing stored"


def test_debug_raises_a_fault_but_reports_a_refusal_found_as_it_stores(archive: Archive) -> None:
    """``--debug`` (raise_errors) is for the traceback of a fault; a file the store refuses
    (the same bytes already stored as another year) is reported and the run goes on."""
    _run(archive, [REPORTS[1]])
    outcomes = _run(archive, [REPORTS[1]], reading=Reading(fiscal_year=2019), raise_errors=True)
    (filed,) = [item for item in outcomes if isinstance(item, Filed)]
    assert (filed.outcome, filed.failed) == ("refused", False)
    assert "the same file is already stored as 日立市 2020" in filed.reason
