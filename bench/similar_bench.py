"""Similar-measures benchmark (#17 point 4): latency of ``Measure.similar`` at scale.

    .venv/bin/python bench/similar_bench.py --measures 100000 --data-dir /tmp/similar-100k

Builds ``bench/api_bench.py``'s synthetic archive (reused when ``--data-dir`` already holds
one), then times, for ``--samples`` measures drawn at random: the index's lookup alone
(``index.similar.similar``, first 5 and 20), and the GraphQL field through the real ASGI app
(``node(id:) { ... on Measure { similar { score measure { id title municipality } } } }``,
which works out the measure's history too). Prints p50 and p95; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from starlette.testclient import TestClient
from strawberry.relay import to_base64

from index.search import Searcher
from index.similar import similar
from server.app import create_app
from server.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import build

QUERY = """query($id: ID!) { node(id: $id) { ... on Measure {
  similar(first: 5) { score measure { id title municipality fiscalYear } } } } }"""


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    env = {"PLAN_ARCHIVE_DATA_DIR": str(args.data_dir), "PLAN_ARCHIVE_DATABASE_URL": ""}
    if not (args.data_dir / "index").exists():
        args.data_dir.mkdir(parents=True, exist_ok=True)
        build(args.data_dir, args.measures)
    settings = Settings.from_env(env, env_file=None)

    searcher = Searcher(settings.index_dir)
    with searcher.snapshot() as snapshot:
        ids = [int(key[1:]) for key in snapshot.keys if key.startswith("m")]
        print(f"index: {len(ids):,} measures")
    chosen = random.Random(17).sample(ids, min(args.samples, len(ids)))
    started = time.perf_counter()
    similar(searcher, chosen[0])
    print(f"first lookup of a snapshot     {(time.perf_counter() - started) * 1000:6.1f} ms")
    for first in (5, 20):
        times = []
        for measure_id in chosen:
            started = time.perf_counter()
            similar(searcher, measure_id, first=first)
            times.append(time.perf_counter() - started)
        print(f"index similar(first: {first:2d})      {_percentiles(times)}")

    with TestClient(create_app(settings)) as client:
        times = []
        for measure_id in chosen:
            started = time.perf_counter()
            response = client.post(
                "/graphql",
                json={"query": QUERY, "variables": {"id": to_base64("Measure", measure_id)}},
            )
            times.append(time.perf_counter() - started)
            body = response.json()
            assert "errors" not in body, body
        print(f"GraphQL similar (first: 5)     {_percentiles(times)}  (history included)")


if __name__ == "__main__":
    main()
