"""Configuration: one frozen ``Settings`` built once from the environment.

Each value comes from the process environment, then from a ``.env`` file, then from the
default. Nothing else in plan-archive reads ``os.environ``; tests pass a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    api_tokens: tuple[str, ...] = ()

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def synonyms_file(self) -> Path:
        """Extra synonym groups, one per line, comma-separated (see the README)."""
        return self.data_dir / "synonyms.txt"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
        file_values: dict[str, str | None] = {}
        if env_file is not None and env_file.is_file():
            file_values = dict(dotenv_values(env_file))

        def value(name: str, default: str) -> str:
            if name in environ:
                return environ[name]
            from_file = file_values.get(name)
            return from_file if from_file is not None else default

        data_dir = Path(value("PLAN_ARCHIVE_DATA_DIR", "./var")).expanduser()
        database_url = value("PLAN_ARCHIVE_DATABASE_URL", "").strip()
        if not database_url:
            database_url = f"sqlite:///{(data_dir / 'archive.sqlite3').resolve()}"
        elif "://" not in database_url:
            raise SettingsError(
                "PLAN_ARCHIVE_DATABASE_URL must be a SQLAlchemy URL such as "
                "postgresql+psycopg://user@host/db"
            )
        tokens = tuple(
            t.strip() for t in value("PLAN_ARCHIVE_API_TOKENS", "").split(",") if t.strip()
        )
        return cls(data_dir=data_dir, database_url=database_url, api_tokens=tokens)

    def prepare_data_dir(self) -> None:
        """Create the data folder (and so the SQLite file's folder) if it is missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
