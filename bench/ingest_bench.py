"""Store and replace throughput of store_document (issue 15: replacements update in place).

    .venv/bin/python bench/ingest_bench.py [--measures 5000] [--database-url URL]

Synthetic reports (``api_bench.reports``, 100 measures each) are stored into an empty store,
then each is stored again with its text edited, so every measure is updated in place.
Prints measures/s for each. To compare with another commit, run this file from a worktree
of it (``PYTHONPATH=<worktree> python <worktree>/bench/ingest_bench.py``), alternating runs:
the machine is shared. A PostgreSQL URL's ``public`` schema is dropped and recreated.
This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from api_bench import reports  # noqa: E402
from sqlalchemy import text  # noqa: E402

from archive.db import create_store_engine, upgrade, writer  # noqa: E402
from archive.ingest import prepare_document, store_document  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=5_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/archive.sqlite3"
    engine = create_store_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    files = reports(args.measures)
    stored = [prepare_document(data, name) for name, data in files]
    edited = [
        prepare_document(data.replace("を".encode(), "を、".encode()), n) for n, data in files
    ]
    for label, batch in (("store", stored), ("replace", edited)):
        started = time.perf_counter()
        for prepared in batch:
            with writer(engine)() as db, db.begin():
                store_document(db, prepared)
        rate = args.measures / (time.perf_counter() - started)
        print(f"{label}: {rate:,.0f} measures/s ({engine.dialect.name})")
    engine.dispose()


if __name__ == "__main__":
    main()
