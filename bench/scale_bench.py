"""Scale benchmark: one run at 100,000 measures, with SQLite FTS5 and tantivy side by side.

    .venv/bin/pip install -e '.[bench]'      # tantivy, for the comparison
    .venv/bin/python bench/scale_bench.py --measures 100000

In one run, on deterministic synthetic reports (100 measures each, made from the sample's
sentences, as in ``api_bench.py``):

1. ingest: ``plan-archive ingest FOLDER`` (store and index, index commits per batch);
2. reindex: ``plan-archive reindex``, then the first search after it, which loads the new
   index state (its snapshot);
3. search p50/p95 as the API does it (exact matching, ranking, facets over the whole result,
   highlights for the page of 20), over queries every engine can answer (words, AND);
4. the same queries on the same texts with SQLite FTS5 (trigram tokenizer; ``MATCH`` for
   words of three characters or more, ``LIKE`` for shorter ones, as trigrams require) and
   with tantivy (character bigrams, the words as phrases): top 20 by rank plus the total,
   without facets or highlights, printed with their ratio to plan-archive;
5. GraphQL under 8 concurrent clients against ``plan-archive serve --workers 2``: the
   portal's list page and a search, with the response cache off and on.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_bench import _serve, load, reports
from search_bench import percentile, synthetic_rows

from archive.db import reader
from archive.queries import index_rows_by_key
from index.analysis import normalize_text
from index.highlights import highlight
from index.search import Searcher, SearchOptions
from server.resources import open_store
from server.settings import Settings

# Plain words and AND: what all three engines answer alike.
QUERIES = [
    "市民",
    "防災",
    "教育",
    "人事評価",
    "市民サービス",
    "タブレット",
    "オープンデータ",
    "Wi-Fi",
    "11,050",
    "12回",
    "スマホ",
    "フェイスブック",
    "行政マネジメント課",
    "RPA AI-OCR",
    "ホームページ 公開",
    "高齢者 講座",
    "地震",
    "情報セキュリティ 強化",
    # Terms that also match by words apart (#17 point 1); tantivy answers them as phrases.
    "防災情報",
    "市民参加",
    "地域課題",
    "業務効率",
]


def timed(run: Callable[[str], object], repeats: int) -> list[float]:
    for query in QUERIES:  # warm up: first reads, caches
        run(query)
    timings = []
    for _ in range(repeats):
        for query in QUERIES:
            started = time.perf_counter()
            run(query)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def cli(data_dir: Path, *args: str) -> float:
    env = {**os.environ, "PLAN_ARCHIVE_DATA_DIR": str(data_dir)}
    env.pop("PLAN_ARCHIVE_DATABASE_URL", None)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def fts5(texts: list[tuple[int, str]], folder: Path) -> tuple[float, Callable[[str], object]]:
    connection = sqlite3.connect(folder / "fts5.sqlite3")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='trigram')")
    started = time.perf_counter()
    connection.executemany("INSERT INTO t(rowid, body) VALUES (?, ?)", texts)
    connection.commit()
    build = time.perf_counter() - started

    def search(query: str) -> object:
        words = [normalize_text(w) for w in query.split()]
        long_ = [w for w in words if len(w) >= 3]
        short = [w for w in words if len(w) < 3]
        where, parameters = [], []
        if long_:
            where.append("t MATCH ?")
            parameters.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long_))
        for word in short:
            where.append("body LIKE ?")
            parameters.append(f"%{word}%")
        clause = " AND ".join(where)
        order = "ORDER BY rank" if long_ else ""
        total = connection.execute(f"SELECT count(*) FROM t WHERE {clause}", parameters)
        top = connection.execute(f"SELECT rowid FROM t WHERE {clause} {order} LIMIT 20", parameters)
        return total.fetchone(), top.fetchall()

    return build, search


def tantivy_engine(
    texts: list[tuple[int, str]], folder: Path
) -> tuple[float, Callable[[str], object]]:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True)
    builder.add_text_field("body", stored=False, tokenizer_name="bigram")
    index = tantivy.Index(builder.build(), path=str(folder))
    bigrams = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2, False)).build()
    index.register_tokenizer("bigram", bigrams)
    started = time.perf_counter()
    writer = index.writer()
    for key, body in texts:
        writer.add_document(tantivy.Document(id=key, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build = time.perf_counter() - started
    searcher = index.searcher()

    def search(query: str) -> object:
        words = [normalize_text(w) for w in query.split()]
        parsed = index.parse_query(" ".join(f'+"{w}"' for w in words), ["body"])
        result = searcher.search(parsed, 20, count=True)
        return result.count, [searcher.doc(address) for _, address in result.hits]

    return build, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--no-serve", action="store_true", help="skip the GraphQL load (step 5)")
    arguments = parser.parse_args()
    count = arguments.measures
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        files = folder / "reports"
        files.mkdir()
        for name, data in reports(count):
            (files / name).write_bytes(data)
        data_dir = folder / "data"
        print(f"== {count:,} measures in {count // 100:,} reports ==")
        seconds = cli(data_dir, "ingest", str(files))
        print(f"ingest          {count / seconds:8,.0f} measures/s  ({seconds:.0f} s, CLI)")
        seconds = cli(data_dir, "reindex")
        print(f"reindex         {count / seconds:8,.0f} measures/s  ({seconds:.0f} s)")

        searcher = Searcher(data_dir / "index")
        started = time.perf_counter()
        searcher.search(QUERIES[0], SearchOptions(limit=20))
        first = time.perf_counter() - started
        print(f"first search    {first * 1000:8,.0f} ms  (after a commit: the snapshot is loaded)")
        settings = Settings.from_env({"PLAN_ARCHIVE_DATA_DIR": str(data_dir)}, env_file=None)
        engine = open_store(settings)
        sessions = reader(engine)

        def ours(query: str, exact_only: bool = False) -> object:
            """As the API does it: the page's texts come from the store for highlights."""
            results = searcher.search(query, SearchOptions(limit=20, exact_only=exact_only))
            with sessions() as db:
                found = index_rows_by_key(db, [hit.key for hit in results.hits])
            for hit in results.hits:
                highlight(found[hit.key].fields, hit.matched)
            return results.total

        mine = timed(ours, arguments.repeats)
        exact = timed(lambda query: ours(query, exact_only=True), arguments.repeats)
        searcher.close()
        engine.dispose()
        texts = [
            (number, normalize_text(" ".join(row.fields.values())))
            for number, row in enumerate(synthetic_rows(count))
        ]
        others = {}
        build, search = fts5(texts, folder)
        others["SQLite FTS5 trigram"] = (build, timed(search, arguments.repeats))
        try:
            (folder / "tantivy").mkdir()
            build, search = tantivy_engine(texts, folder / "tantivy")
            others["tantivy bigrams"] = (build, timed(search, arguments.repeats))
        except ImportError:
            print("(tantivy is not installed: pip install -e '.[bench]')")
        p50, p95 = percentile(mine, 0.5), percentile(mine, 0.95)
        print(f"{'plan-archive':22s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  (facets, highlights)")
        e50, e95 = percentile(exact, 0.5), percentile(exact, 0.95)
        print(f"{'plan-archive exact only':22s} p50 {e50:7.2f} ms  p95 {e95:7.2f} ms")
        for name, (build, timings) in others.items():
            o50, o95 = percentile(timings, 0.5), percentile(timings, 0.95)
            print(
                f"{name:22s} p50 {o50:7.2f} ms  p95 {o95:7.2f} ms  build {count / build:,.0f}/s"
                f"   plan-archive p95 = {p95 / o95:.1f}x"
            )
        for cache in () if arguments.no_serve else (False, True):
            server, port = _serve(data_dir, 2, cache)
            try:
                for kind in ("list", "search"):
                    asyncio.run(load(port, kind, 8, 3))
                print(
                    f"-- GraphQL, 8 clients, 2 workers, response cache {'on' if cache else 'off'}"
                )
                for kind in ("list", "search"):
                    asyncio.run(load(port, kind, 8, arguments.seconds))
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
