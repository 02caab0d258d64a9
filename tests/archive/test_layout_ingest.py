"""Layout profiles through the real ingest path (#16 point 3): the store (SQLite, and
PostgreSQL when configured), the command line and GraphQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from archive.db import reader, writer
from archive.errors import DocumentRefused
from archive.ingest import prepare_document, store_document
from archive.models import Document, Measure
from server.cli import cli
from tests.archive.test_layout_profiles import DX, EVALUATION, PROGRESS
from tests.conftest import SAMPLE, AppClient, archive_of, graphql


def test_the_store_keeps_the_layout_and_the_grades(engine: Engine) -> None:
    prepared = prepare_document(EVALUATION.read_bytes(), EVALUATION.name)
    with writer(engine)() as db, db.begin():
        result = store_document(db, prepared)
    assert result.describe() == "stored (三鷹市 2020, 5 measures, layout evaluation-sheet)"
    with reader(engine)() as db:
        assert db.scalars(select(Document.layout)).one() == "evaluation-sheet"
        rows = db.execute(
            select(Measure.number, Measure.grade, Measure.carry_over_status).order_by(
                Measure.number
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("001", "A", "継続"),
        ("002", "B", "見直し"),
        ("003", "S", "拡充"),
        ("004", "○", "継続"),
        ("005", "△", "縮小"),
    ]


def test_a_named_layout_is_used_and_an_unknown_one_refused() -> None:
    data = EVALUATION.read_bytes()
    assert prepare_document(data, "x.txt", layout="hitachi").report.measures == ()
    with pytest.raises(DocumentRefused, match="unknown layout 'nope'; known layouts: hitachi"):
        prepare_document(data, "x.txt", layout="nope")
    with pytest.raises(DocumentRefused, match="no measures found by layout hitachi"):
        prepare_document(data, "x.txt", layout="hitachi", strict=True)


def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_layout_option(cli_env: dict[str, str]) -> None:
    code, out, err = _cli(cli_env, "ingest", "--layout", "nope", str(EVALUATION))
    assert (code, out) == (2, "")
    assert err == (
        "error: unknown layout 'nope'; known layouts: hitachi, evaluation-sheet, progress-list\n"
    )
    code, out, _ = _cli(cli_env, "ingest", "--layout", "hitachi", str(PROGRESS))
    assert (code, out.split(": ", 1)[1]) == (
        0,
        "archived without structure (水戸市 2021): no layout profile found its measures\n",
    )
    code, out, _ = _cli(cli_env, "ingest", str(EVALUATION), str(DX), str(SAMPLE))
    assert code == 0
    assert out.splitlines() == [
        f"{EVALUATION}: stored (三鷹市 2020, 5 measures, layout evaluation-sheet)",
        f"{DX}: stored (つくば市 2020, 3 measures, layout progress-list)",
        f"{SAMPLE}: stored (日立市 2020, 12 measures, layout hitachi)",
    ]


def test_graphql_grade_and_layout(tmp_path: Path, app_client: AppClient) -> None:
    settings = archive_of(tmp_path, [PROGRESS, SAMPLE])
    with app_client(settings) as client:
        body = graphql(
            client,
            "{ documents { municipality layout } "
            "measures(filter: {fiscalYears: [2021]}) { edges { node { number grade "
            "carryOver { status fiscalYear } departments { name } } } } }",
        )
    assert "errors" not in body, body
    data = body["data"]
    assert sorted((d["municipality"], d["layout"]) for d in data["documents"]) == [
        ("日立市", "hitachi"),
        ("水戸市", "progress-list"),
    ]
    nodes = {edge["node"]["number"]: edge["node"] for edge in data["measures"]["edges"]}
    assert nodes["R3-1"]["grade"] == "○"
    assert nodes["R3-1"]["carryOver"] == {"status": "継続", "fiscalYear": 2022}
    assert nodes["R3-4"]["grade"] is None
    assert nodes["R3-2"]["departments"] == [{"name": "市民課"}, {"name": "情報政策課"}]


def test_a_text_no_profile_reads_has_no_layout(engine: Engine) -> None:
    prepared = prepare_document("三鷹市 お知らせ 令和２年度 \n".encode(), "notice.txt")
    with writer(engine)() as db, db.begin():
        result = store_document(db, prepared)
    assert result.layout is None
    assert result.describe().startswith("archived without structure (三鷹市 2020)")
    with reader(engine)() as db:
        assert db.execute(select(Document.layout)).one() == (None,)
