"""PDF reports: read in a limited child process, parsed as the text files are, pages in the
provenance, and every unreadable PDF refused with its reason and nothing stored."""

from __future__ import annotations

import functools
import io
import re
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from archive.db import reader, writer
from archive.errors import DocumentRefused
from archive.ingest import prepare_document, store_document
from archive.models import Document, Measure
from archive.parse import ParsedMeasure, parse_report
from archive.pdf import PdfLimits
from server.cli import cli
from server.resources import open_store
from tests import pdfs
from tests.conftest import ROOT, SAMPLE, AppClient, settings_for

REPORTS = [
    SAMPLE,
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2019.txt",
    ROOT / "tests" / "fixtures" / "hitachi-action-plan-fy2021.txt",
]


def _fields(measure: ParsedMeasure) -> tuple[object, ...]:
    """A measure's fields; the text ones without whitespace, which wrapping may move."""

    def squeeze(text: str) -> str:
        return re.sub(r"\s", "", text)

    tag = measure.carry_over.tag if measure.carry_over else None
    return (
        measure.number,
        squeeze(measure.title),
        measure.departments,
        measure.departments_others,
        squeeze(measure.description),
        squeeze(measure.achievement),
        tag,
        measure.pillar_number,
    )


@pytest.mark.parametrize("layout", sorted(pdfs.LAYOUTS))
@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.stem)
def test_a_pdf_reads_as_its_text_file(layout: str, report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    prepared = prepare_document(pdfs.LAYOUTS[layout](text), f"{report.stem}.pdf")
    expected = parse_report(text)
    assert prepared.encoding == "pdf"
    assert (prepared.municipality, prepared.fiscal_year) == (
        expected.municipality,
        expected.fiscal_year,
    )
    assert [_fields(m) for m in prepared.report.measures] == [_fields(m) for m in expected.measures]


def test_provenance_names_the_page_each_field_is_printed_on(tmp_path: Path) -> None:
    data = pdfs.lines(SAMPLE.read_text(encoding="utf-8"))
    # The pages as a reader sees them, read here with pypdf directly.
    pages = [re.sub(r"\s", "", p.extract_text()) for p in PdfReader(io.BytesIO(data)).pages]
    assert len(pages) > 1
    engine = open_store(settings_for(tmp_path))
    with writer(engine)() as db, db.begin():
        store_document(db, prepare_document(data, "report.pdf"))
    with reader(engine)() as db:
        measures = db.scalars(select(Measure).order_by(Measure.number)).all()
        for measure in measures:
            for field, text in (("title", measure.title), ("description", measure.description)):
                first_line, last_line, first_page, last_page = measure.provenance[field]
                assert first_line <= last_line
                assert first_page <= last_page
                assert re.sub(r"\s", "", text)[:8] in pages[first_page - 1]
    engine.dispose()
    assert len(measures) == 12


def test_the_api_shows_pages_for_a_pdf_and_none_for_a_text(
    tmp_path: Path, app_client: AppClient
) -> None:

    text = SAMPLE.read_text(encoding="utf-8")
    settings = settings_for(tmp_path)
    engine = open_store(settings)
    with writer(engine)() as db, db.begin():
        store_document(db, prepare_document(pdfs.lines(text), "report.pdf"))
        other = text.replace("日立市", "常陸太田市")
        store_document(db, prepare_document(other.encode(), "other.txt"))
    engine.dispose()
    query = (
        "{ measures(first: 50) { edges { node { municipality"
        " provenance { field firstLine lastLine firstPage lastPage } } } } }"
    )
    with app_client(settings) as client:
        edges = client.post("/graphql", json={"query": query}).json()["data"]["measures"]["edges"]
    by_city: dict[str, list[dict[str, object]]] = {}
    for edge in edges:
        by_city.setdefault(edge["node"]["municipality"], []).extend(edge["node"]["provenance"])
    assert by_city["日立市"]
    assert all(s["firstPage"] for s in by_city["日立市"])
    assert by_city["常陸太田市"]
    assert all(s["firstPage"] is None for s in by_city["常陸太田市"])
    fields = {s["field"] for s in by_city["日立市"]}
    assert {"title", "departments", "description", "achievement"} <= fields


def _bomb() -> bytes:
    """One page whose content stream inflates from a few hundred KB to 400 MB."""
    squeeze = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    compressed = b"".join(squeeze.compress(chunk) for _ in range(400)) + squeeze.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed)
        + compressed
        + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


@functools.cache  # once per run: the bomb alone is 400 MB to compress
def _refusals() -> dict[str, tuple[bytes, str]]:
    text = SAMPLE.read_text(encoding="utf-8")
    whole = pdfs.lines(text)
    return {
        "scanned.pdf": (pdfs.scanned(), "no text layer"),
        "locked.pdf": (pdfs.encrypted(text), "encrypted and needs a password"),
        "truncated.pdf": (whole[: len(whole) // 2], "truncated"),
        "fake.pdf": (b"%PDF-1.7\nthis is not a PDF at all\n%%EOF\n", "not a readable PDF"),
        "bomb.pdf": (_bomb(), "compression bomb"),
        "not-a.pdf": (b"<html>404 Not Found</html>", "named .pdf but is not a PDF"),
    }


@pytest.mark.parametrize("name", sorted(_refusals()))
def test_an_unreadable_pdf_is_refused_with_its_reason(name: str) -> None:
    data, reason = _refusals()[name]
    limits = PdfLimits(seconds=30, cpu_seconds=30, memory_bytes=256 << 20)
    with pytest.raises(DocumentRefused) as refused:
        prepare_document(data, name, pdf_limits=limits)
    assert reason in refused.value.reason
    assert "\n" not in refused.value.reason
    if name == "scanned.pdf":
        assert "OCR" in refused.value.reason


def test_a_misread_font_map_is_stored_without_nul_or_lone_surrogates(engine: Engine) -> None:
    """A glyph the ToUnicode map calls U+0000 is dropped, one it maps to half a surrogate pair
    is U+FFFD: the report is stored whole on either store (a surrogate failed both, a NUL
    PostgreSQL), instead of refusing a file whose clerk cannot mend its fonts."""
    text = SAMPLE.read_text(encoding="utf-8")
    prepared = prepare_document(pdfs.misread(text, {"、": "0000", "ー": "D800"}), "report.pdf")
    assert "\x00" not in prepared.raw_text
    assert "、" not in prepared.raw_text
    assert prepared.raw_text.count("\ufffd") == text.count("ー")
    with writer(engine)() as db, db.begin():
        assert store_document(db, prepared).measure_count == 12
    with reader(engine)() as db:
        assert db.scalar(select(Document.raw_text)) == prepared.raw_text


def test_an_owner_password_alone_does_not_stop_reading() -> None:
    """Many offices protect PDFs against editing only; those open without a password."""
    text = SAMPLE.read_text(encoding="utf-8")
    prepared = prepare_document(pdfs.encrypted(text, user_password=""), "protected.pdf")
    assert prepared.report.measures


def test_the_limits_hold_the_reader() -> None:
    data = pdfs.lines(SAMPLE.read_text(encoding="utf-8") * 20)
    with pytest.raises(DocumentRefused, match="took longer than"):
        prepare_document(data, "slow.pdf", pdf_limits=PdfLimits(seconds=0.01))
    # 16 MB of address space does not even hold Python: the limit is set before anything.
    with pytest.raises(DocumentRefused, match="needs more than 16 MB"):
        prepare_document(data, "big.pdf", pdf_limits=PdfLimits(memory_bytes=16 << 20))
    with pytest.raises(DocumentRefused, match="holds over 10,000 characters"):
        prepare_document(data, "long.pdf", pdf_limits=PdfLimits(max_characters=10_000))


def test_the_cpu_limit_stops_a_long_read() -> None:
    # About 800 pages: several seconds of CPU to read, against a limit of one.
    data = pdfs.lines(SAMPLE.read_text(encoding="utf-8") * 100)
    limits = PdfLimits(seconds=120, cpu_seconds=1)
    with pytest.raises(DocumentRefused, match=r"more than 1 s of CPU|killed"):
        prepare_document(data, "long.pdf", pdf_limits=limits)


def test_padding_after_the_end_marker_is_not_truncation() -> None:
    data = pdfs.lines(SAMPLE.read_text(encoding="utf-8")) + b"\0" * 4096
    assert prepare_document(data, "padded.pdf").report.measures


def test_the_reader_runs_our_code_whatever_the_working_folder_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "archive.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLAN_ARCHIVE_DATABASE_URL", "postgresql://secret@db/x")
    data = pdfs.lines(SAMPLE.read_text(encoding="utf-8"))
    assert prepare_document(data, "report.pdf").report.measures


def test_a_page_break_does_not_hide_an_indented_paragraph() -> None:
    """The form feed that starts a page must not count as the first line's first character."""
    from archive.parse import rejoin

    wide = "あ" * 30
    lines = ["タイトル", wide, wide, " 新しい段落", wide]
    plain = rejoin("\n".join(lines))
    paged = rejoin("\n".join([*lines[:3], "\f" + lines[3], lines[4]]))
    assert [line.text for line in paged] == [line.text for line in plain]
    assert "新しい段落" in [line.text for line in plain]


def test_the_cli_stores_good_pdfs_and_nothing_of_bad_ones(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    from click.testing import CliRunner

    folder = tmp_path / "in"
    folder.mkdir()
    for name, (data, _) in _refusals().items():
        if name != "bomb.pdf":
            (folder / name).write_bytes(data)
    refused = CliRunner().invoke(cli, ["ingest", str(folder)], env=cli_env)
    assert refused.exit_code == 1
    assert refused.output.count(": refused: ") == len(_refusals()) - 1
    assert "Traceback" not in refused.output
    settings = settings_for(tmp_path / "data")
    engine = open_store(settings)
    with reader(engine)() as db:
        assert db.scalar(select(func.count()).select_from(Document)) == 0
    good = tmp_path / "report.pdf"
    good.write_bytes(pdfs.table(SAMPLE.read_text(encoding="utf-8")))
    stored = CliRunner().invoke(cli, ["ingest", str(good)], env=cli_env)
    assert stored.exit_code == 0, stored.output
    assert stored.output == f"{good}: stored (日立市 2020, 12 measures, layout hitachi)\n"
    searched = CliRunner().invoke(cli, ["search", "タブレット"], env=cli_env)
    assert "高齢者向けタブレット入門講座" in searched.output
    with reader(engine)() as db:
        assert db.scalar(select(Document.encoding)) == "pdf"
    engine.dispose()
