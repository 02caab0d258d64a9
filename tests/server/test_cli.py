"""The command line through click's CliRunner, on a real SQLite store in a temp folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from server.cli import cli
from tests import variants
from tests.conftest import EARLIER_INDEXES, SAMPLE, process_env
from tests.schema.test_sdl import SDL_FILE

Invoke = Callable[..., Result]


@pytest.fixture
def run(cli_env: dict[str, str]) -> Invoke:

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=cli_env)

    return invoke


def test_ingest_prints_one_line_per_file(run: Invoke, tmp_path: Path) -> None:
    first = run("ingest", str(SAMPLE.parent))
    assert first.exit_code == 0
    assert first.output == f"{SAMPLE}: stored (日立市 2020, 12 measures, layout hitachi)\n"
    again = run("ingest", str(SAMPLE))
    assert again.output == f"{SAMPLE}: unchanged (日立市 2020, 12 measures, layout hitachi)\n"
    newer = tmp_path / "newer.txt"
    newer.write_bytes(variants.added_measure(SAMPLE.read_text(encoding="utf-8")))
    replaced = run("ingest", str(newer))
    assert replaced.output == f"{newer}: replaced (日立市 2020, 13 measures, layout hitachi)\n"


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
    assert lines[4].endswith("stored (日立市 2020, 12 measures, layout hitachi)")


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


def test_the_console_script_prints_no_traceback(tmp_path: Path) -> None:
    """Through the real entry point (main), in a process of its own."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "r0.txt").write_bytes(
        SAMPLE.read_text(encoding="utf-8").replace("[R3継続]", "[R0継続]").encode()
    )
    env = process_env(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "ingest", "empty.txt", "r0.txt", "missing.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["empty.txt", "r0.txt", "missing.txt"]
    # [R0継続] names no year, so the year comes from the 令和２年度 printed in No 01.
    assert lines[1] == "r0.txt: stored (日立市 2020, 12 measures, layout hitachi)"


def test_one_run_never_replaces_its_own_files(run: Invoke, tmp_path: Path) -> None:
    fixtures = SAMPLE.parent.parent / "tests" / "fixtures"
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in ("hitachi-action-plan-fy2019.txt", "hitachi-action-plan-fy2021.txt"):
        (folder / name).write_bytes((fixtures / name).read_bytes())
    result = run("ingest", "--fiscal-year", "2020", str(folder))
    assert result.exit_code == 1
    first, second = result.output.splitlines()
    assert first.endswith("stored (日立市 2020, 12 measures, layout hitachi)")
    assert "of this run is also 日立市 2020" in second


def test_nothing_is_skipped_silently(run: Invoke, tmp_path: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".DS_Store").write_bytes(b"x")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    result = run("ingest", str(hidden), str(broken))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{hidden}: refused: the folder has no files to ingest (hidden files are skipped)",
        f"{broken / 'gone.txt'}: refused: cannot read the file (No such file or directory)",
    ]


def test_a_text_without_structure_cannot_replace_a_report(run: Invoke, tmp_path: Path) -> None:
    run("ingest", str(SAMPLE))
    summary = tmp_path / "summary.txt"
    summary.write_bytes(
        " 日立市情報化推進アクションプラン 概要版 \n令和２年度の取組をまとめた。\n".encode()
    )
    result = run("ingest", str(summary))
    assert result.exit_code == 1
    assert "is stored with 12 measures and this file has none" in result.output
    assert "1 hit for" in run("search", "人事評価").output


def test_search_prints_the_exact_count_and_word_hits(run: Invoke) -> None:
    """#17 point 1: 情報発信 exactly in No 01-03, by its words apart in No 11."""
    run("ingest", str(SAMPLE))
    output = run("search", "情報発信").output
    assert output.startswith("4 hits (3 exact) for 情報発信\n")
    assert output.count(", by words") == 1
    assert run("search", '"情報発信"').output.startswith("3 hits for")


def test_delete(run: Invoke) -> None:
    run("ingest", str(SAMPLE))
    deleted = run("delete", "--municipality", "日立市", "--fiscal-year", "2020")
    assert deleted.output == "deleted 日立市 2020 (12 measures)\n"
    assert run("search", "市民").output.startswith("0 hits")
    again = run("delete", "--municipality", "日立市", "--fiscal-year", "2020")
    assert again.exit_code == 2


def test_check_and_repair(run: Invoke, tmp_path: Path) -> None:
    run("ingest", str(SAMPLE))
    assert run("check").output == "index and store agree\n"
    for folder in (tmp_path / "data" / "index").glob("g*"):
        for file in folder.iterdir():
            file.unlink()  # the index is lost
    broken = run("check")
    assert broken.exit_code == 1
    assert broken.output.startswith("missing: 12 (")
    repaired = run("check", "--repair")
    assert repaired.exit_code == 0
    assert run("check").output == "index and store agree\n"
    assert run("search", "人事評価").output.startswith("1 hit for")


@pytest.mark.parametrize("earlier", EARLIER_INDEXES)
@pytest.mark.parametrize(
    "command", [("search", "市民"), ("ingest", str(SAMPLE)), ("check",), ("reindex",)]
)
def test_an_index_of_an_earlier_format_is_rebuilt_by_the_first_command(
    run: Invoke, tmp_path: Path, command: tuple[str, ...], earlier: str
) -> None:
    assert run("ingest", str(SAMPLE)).exit_code == 0
    EARLIER_INDEXES[earlier](tmp_path / "data" / "index")
    first = run(*command)
    assert first.exit_code == 0, first.output
    said = [line for line in first.stderr.splitlines() if "earlier plan-archive" in line]
    assert len(said) == (command != ("reindex",))  # reindex rebuilds anyway: nothing to say
    assert "Traceback" not in first.output
    again = run("search", "市民")
    assert again.output.startswith("4 hits for")
    assert "earlier" not in again.stderr
    assert run("check").output == "index and store agree\n"


def test_history_compare_and_link(run: Invoke, tmp_path: Path) -> None:
    fixtures = SAMPLE.parent.parent / "tests" / "fixtures"
    reports = [fixtures / "hitachi-action-plan-fy2019.txt", SAMPLE]
    reports.append(fixtures / "hitachi-action-plan-fy2021.txt")
    assert run("ingest", *map(str, reports)).exit_code == 0
    history = run("history", "9", "--fiscal-year", "2020")
    assert history.exit_code == 0, history.output
    years = [line.split()[:3] for line in history.output.splitlines() if line[:2] == "20"]
    assert years == [["2019", "No", "10"], ["2020", "No", "09"], ["2021", "No", "08"]]
    compared = run("compare", "02", "--fiscal-year", "2020", "--with", "2019")
    assert compared.exit_code == 0, compared.output
    assert "department added: 行政マネジメント課" in compared.output
    assert "(+2,840)" in compared.output  # 8,210 → 11,050 downloads
    missing = run("compare", "04", "--fiscal-year", "2020", "--with", "2021")
    assert missing.exit_code != 0
    assert "no self in 2021" in missing.output
    curation = tmp_path / "curation.txt"
    curation.write_text("rename,行政改革推進課,行政マネジメント課,2020\n", encoding="utf-8")
    assert run("link", str(curation)).exit_code == 0
    assert run("link").output == "rename,行政改革推進課,行政マネジメント課,2020\n"
    renamed = run("compare", "02", "--fiscal-year", "2020", "--with", "2019").output
    assert "department added" not in renamed
    # A bad file is one line of error and changes nothing.
    curation.write_text("link,日立市,2020,04\n", encoding="utf-8")
    refused = run("link", str(curation))
    assert refused.exit_code != 0
    assert "line 1" in refused.output
    assert "Traceback" not in refused.output
    assert run("link").output == "rename,行政改革推進課,行政マネジメント課,2020\n"
