"""Settings come from the environment, then from ``.env``, then from the table's defaults, and
every yes-or-no variable is read one way."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.pdf import PdfLimits
from schema.limits import Limits
from server.settings import FALSE, TRUE, Settings, SettingsError


def test_the_environment_wins_over_env_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "PLAN_ARCHIVE_DATA_DIR=from-file\n"
        "PLAN_ARCHIVE_REQUEST_TIMEOUT=7\n"
        "PLAN_ARCHIVE_METRICS=off\n"
        "PLAN_ARCHIVE_MAX_COST\n",  # named without a value: the default
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # where a command looks for .env
    environ = {"PLAN_ARCHIVE_REQUEST_TIMEOUT": "3", "PLAN_ARCHIVE_WORKER_THREADS": "2"}
    settings = Settings.from_env(environ)
    assert settings.request_timeout == 3  # the environment, over the file's 7
    assert settings.worker_threads == 2  # the environment alone
    assert settings.data_dir == Path("from-file")  # the file alone
    assert settings.metrics is False
    store = tmp_path.resolve() / "from-file" / "archive.sqlite3"
    assert settings.database_url == f"sqlite:///{store}"  # in the data folder the file gave
    assert settings.limits.max_cost == Limits().max_cost  # the default
    assert settings.stream_timeout == 300  # the default
    without_file = Settings.from_env(environ, env_file=None)
    assert (without_file.data_dir, without_file.metrics) == (Path("var"), True)


def test_a_bad_value_in_env_names_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("PLAN_ARCHIVE_MAX_ALIASES=many\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="PLAN_ARCHIVE_MAX_ALIASES must be a number"):
        Settings.from_env({})
    assert Settings.from_env({"PLAN_ARCHIVE_MAX_ALIASES": "4"}).limits.max_aliases == 4


@pytest.mark.parametrize("name", ["PLAN_ARCHIVE_GRAPHIQL", "PLAN_ARCHIVE_METRICS"])
@pytest.mark.parametrize(("yes", "no"), list(zip(TRUE, FALSE, strict=True)))
def test_every_yes_or_no_variable_takes_every_spelling(name: str, yes: str, no: str) -> None:
    field = name.removeprefix("PLAN_ARCHIVE_").lower()
    for spelling, meaning in [(yes, True), (no, False), (f" {yes.upper()} ", True)]:
        settings = Settings.from_env({name: spelling}, env_file=None)
        assert getattr(settings, field) is meaning, spelling


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("PLAN_ARCHIVE_GRAPHIQL", "PLAN_ARCHIVE_GRAPHIQL must be true or false"),
        ("PLAN_ARCHIVE_METRICS", "PLAN_ARCHIVE_METRICS must be on or off"),
    ],
)
def test_a_yes_or_no_variable_refuses_other_words(name: str, message: str) -> None:
    for word in ["maybe", "", "2", "enabled"]:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env({name: word}, env_file=None)
        assert str(refused.value) == message


def test_the_defaults_are_those_of_the_layers_below() -> None:
    """The table's defaults and those of ``Limits`` and ``PdfLimits`` (used without settings)
    do not drift apart."""
    defaults = Settings.from_env({}, env_file=None)
    assert defaults.limits == Limits()
    assert defaults.pdf_limits == PdfLimits()
