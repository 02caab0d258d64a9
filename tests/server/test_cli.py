"""The command line through click's CliRunner, on a real SQLite store in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from server.cli import cli
from tests import variants
from tests.conftest import SAMPLE
from tests.schema.test_sdl import SDL_FILE

Invoke = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    env = {"PLAN_ARCHIVE_DATA_DIR": str(tmp_path / "data"), "PLAN_ARCHIVE_DATABASE_URL": ""}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def test_ingest_prints_one_line_per_file(run: Invoke, tmp_path: Path) -> None:
    first = run("ingest", str(SAMPLE.parent))
    assert first.exit_code == 0
    assert first.output == f"{SAMPLE}: stored (日立市 2020, 12 measures)\n"
    again = run("ingest", str(SAMPLE))
    assert again.output == f"{SAMPLE}: unchanged (日立市 2020, 12 measures)\n"
    newer = tmp_path / "newer.txt"
    newer.write_bytes(variants.added_measure(SAMPLE.read_text(encoding="utf-8")))
    replaced = run("ingest", str(newer))
    assert replaced.output == f"{newer}: replaced (日立市 2020, 13 measures)\n"


def test_refused_files_exit_non_zero_without_traceback(run: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "notice.txt").write_bytes("お知らせ \n".encode())
    result = run(
        "ingest",
        str(tmp_path / "empty.txt"),
        str(tmp_path / "image.png"),
        str(tmp_path / "missing.txt"),
        str(tmp_path / "notice.txt"),
        str(SAMPLE),
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 5
    assert lines[0].endswith("empty.txt: refused: the file is empty")
    assert lines[1].endswith("image.png: refused: this is a binary file, not text")
    assert "missing.txt: refused: cannot read the file" in lines[2]
    assert lines[3].endswith(
        "notice.txt: refused: cannot tell the fiscal year from the text; pass --fiscal-year"
    )
    assert lines[4].endswith("stored (日立市 2020, 12 measures)")
    assert "Traceback" not in result.output


def test_text_without_measures_and_strict(run: Invoke, tmp_path: Path) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_bytes("日立市からのお知らせ \n令和２年度の予定。 \n".encode())
    strict = run("ingest", "--strict", str(notice))
    assert (strict.exit_code, "refused" in strict.output) == (1, True)
    loose = run("ingest", str(notice))
    assert loose.exit_code == 0
    assert "archived without structure (日立市 2020)" in loose.output


def test_options_name_the_year_and_municipality(run: Invoke, tmp_path: Path) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_bytes("お知らせ \n".encode())
    result = run("ingest", "--fiscal-year", "2021", "--municipality", "水戸市", str(notice))
    assert result.exit_code == 0, result.output
    assert "(水戸市 2021)" in result.output


def test_bad_database_url_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"PLAN_ARCHIVE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = CliRunner().invoke(cli, ["ingest", str(SAMPLE)], env=env)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: cannot open the store at postgresql+psycopg://nobody@")


def test_schema_prints_the_committed_sdl(run: Invoke) -> None:
    assert run("schema").output == SDL_FILE.read_text(encoding="utf-8")
