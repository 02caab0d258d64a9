"""Search benchmark: index build rate and search latency on a synthetic archive.

    .venv/bin/python bench/search_bench.py --measures 10000 100000

The archive is deterministic (seeded) and built from the sample report's own sentences,
departments and pillars, recombined per measure and spread over 20 cities and 26 fiscal
years. Each query is timed end to end as the API does it: parse, exact matching, ranking,
facets over the whole result, and highlights for the first page of 20. "cold" clears the
per-snapshot result cache before every query; "warm" repeats the query on a filled cache.
This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from archive.parse import parse_report
from archive.queries import IndexRow
from index.highlights import highlight
from index.search import Searcher, SearchOptions
from index.writing import build_generation, switch_to

ROOT = Path(__file__).resolve().parent.parent

CITIES = [
    "日立市",
    "水戸市",
    "土浦市",
    "古河市",
    "石岡市",
    "結城市",
    "龍ケ崎市",
    "下妻市",
    "常総市",
    "常陸太田市",
    "高萩市",
    "北茨城市",
    "笠間市",
    "取手市",
    "牛久市",
    "つくば市",
    "ひたちなか市",
    "鹿嶋市",
    "潮来市",
    "守谷市",
]
QUERIES = [
    "市民",
    "防災",
    "教育",
    "人事評価",
    "市民サービス",
    "タブレット",
    "オープンデータ",
    "Wi-Fi",
    "Ｗｉ－Ｆｉ",
    "11,050",
    "12回",
    "１２回",
    "令和2年度",
    "R3",
    "スマホ",
    "フェイスブック",
    "行政マネジメント課",
    "department:秘書課 SNS",
    "RPA AI-OCR",
    "RPA OR 避難所",
    "タブレット -高齢者",
    '"公衆無線 LAN"',
    "title:オープンデータ",
    "fiscalYear:2015..2020 防災",
    "ホームページ 公開",
    "高齢者 講座",
    "市",
    "地震",
    "planning",
    "情報セキュリティ 強化",
]


def sample_pieces() -> tuple[list[str], list[str], list[str], list[str]]:
    report = parse_report((ROOT / "sample" / "hitachi-action-plan-fy2020.txt").read_text("utf-8"))
    sentences = [
        part + "。"
        for m in report.measures
        for text in (m.description, m.achievement)
        for part in text.replace("\n", "。").split("。")
        if len(part) > 8
    ]
    titles = [m.title for m in report.measures]
    departments = sorted({d for m in report.measures for d in m.departments})
    pillars = [p.title for p in report.pillars]
    return sentences, titles, departments, pillars


def synthetic_rows(count: int, seed: int = 20201) -> list[IndexRow]:
    sentences, titles, departments, pillars = sample_pieces()
    extra_departments = [f"{name[:-1]}第{n}課" for name in departments for n in range(1, 4)]
    all_departments = departments + extra_departments
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        year = 2000 + (i * 7919) % 26
        departments_of = tuple(rng.sample(all_departments, rng.choice((1, 1, 1, 2, 2, 3))))
        number = rng.randint(1, 999)
        achievement = "".join(rng.sample(sentences, rng.randint(1, 3)))
        figure = f"{rng.randint(1, 99999):,}{rng.choice('件人回枚校')}"
        achievement += rng.choice(["計", "約", ""]) + figure
        rows.append(
            IndexRow(
                key=f"m{i + 1}",
                kind="measure",
                measure_id=i + 1,
                document_id=i // 100 + 1,
                municipality=CITIES[(i // 100) % len(CITIES)],
                fiscal_year=year,
                number=f"{number:02d}",
                status=rng.choice(["継続", "継続", "継続", "完了", None]),
                departments=departments_of,
                fields={
                    "title": rng.choice(titles) + rng.choice(["", "の推進", "の充実", "の拡充"]),
                    "description": "".join(rng.sample(sentences, rng.randint(1, 2))),
                    "achievement": achievement,
                    "departments": "、".join(departments_of),
                    "pillar": rng.choice(pillars),
                },
            )
        )
    return rows


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(count: int, repeats: int) -> None:
    rows = synthetic_rows(count)
    by_key = {row.key: row for row in rows}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "index"
        started = time.perf_counter()
        generation, written = build_generation(root, rows)
        switch_to(root, generation)
        build = time.perf_counter() - started
        size = sum(p.stat().st_size for p in generation.iterdir()) / 2**20
        searcher = Searcher(root)
        started = time.perf_counter()
        with searcher.snapshot() as snapshot:
            load = time.perf_counter() - started
        cold: list[float] = []
        warm: list[float] = []
        totals = {}
        for _ in range(repeats):
            for query in QUERIES:
                for timings, clear in ((cold, True), (warm, False)):
                    if clear:
                        snapshot.text_matches.clear()
                    started = time.perf_counter()
                    results = searcher.search(query, SearchOptions(limit=20))
                    for hit in results.hits:
                        highlight(by_key[hit.key].fields, hit.matched)
                    timings.append((time.perf_counter() - started) * 1000)
                    totals[query] = results.total
        print(f"\n== {count:,} measures ==")
        print(f"index build     {written / build:,.0f} measures/s ({build:.1f} s, {size:.0f} MiB)")
        print(f"snapshot load   {load:.2f} s (once per worker and index commit)")
        for name, timings in (("cold", cold), ("warm", warm)):
            print(
                f"search {name:5s}    p50 {percentile(timings, 0.5):6.1f} ms   "
                f"p95 {percentile(timings, 0.95):6.1f} ms   max {max(timings):6.1f} ms   "
                f"({len(timings)} searches, highlights + facets)"
            )
        worst = sorted(QUERIES, key=lambda q: -totals[q])[:3]
        print("largest results " + ", ".join(f"{q}: {totals[q]:,}" for q in worst))
        searcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    for count in arguments.measures:
        run(count, arguments.repeats)


if __name__ == "__main__":
    main()
