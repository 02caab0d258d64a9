"""The response cache through the real ASGI app: repeated queries are answered from it, and
no change to the store or the index is ever hidden by it."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from archive.db import reader, writer
from archive.ingest import prepare_document, store_document
from index.writing import apply_pending
from server.resources import open_store
from server.settings import Settings
from tests.conftest import SAMPLE, AppClient, ArchiveCopy, settings_for

FIXTURES = Path(__file__).parent.parent / "fixtures"
YEARS = "{ fiscalYears { year measureCount } }"


def _post(client: TestClient, query: str, **variables: object) -> tuple[str, dict[str, object]]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    return response.headers.get("x-cache", "miss"), response.json()


def test_a_repeated_query_is_answered_from_the_cache(client: TestClient) -> None:
    first = _post(client, YEARS)
    second = _post(client, YEARS)
    assert first[0] == "miss"
    assert second == ("hit", first[1])
    # Another variable, another body: its own entry.
    query = "query($n: Int) { measures(first: $n) { edges { node { number } } } }"
    assert _post(client, query, n=2)[0] == "miss"
    assert len(_post(client, query, n=3)[1]["data"]["measures"]["edges"]) == 3  # type: ignore[index]


def test_errors_are_not_cached(client: TestClient) -> None:
    bad = '{ measures(after: "garbage") { totalCount } }'
    assert _post(client, bad)[1]["errors"]
    assert _post(client, bad)[0] == "miss"


def test_an_ingest_is_seen_at_once(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """A write through another process's engine (as the CLI's ingest) advances the data
    version, so the next query is answered afresh."""
    settings = archive_copy(tmp_path, [SAMPLE])
    with app_client(settings) as client:
        before = _post(client, YEARS)[1]
        assert _post(client, YEARS)[0] == "hit"
        engine = open_store(settings)
        report = FIXTURES / "hitachi-action-plan-fy2021.txt"
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(report.read_bytes(), report.name))
        # The store changed but the index not yet: lists see the change, search does not.
        state, after = _post(client, YEARS)
        assert state == "miss"
        assert after != before
        search = '{ search(query: "fiscalYear:2021") { totalCount } }'
        assert _post(client, search)[1]["data"] == {"search": {"totalCount": 0}}
        # The index commit alone (no store write) must also reach searches.
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        state, found = _post(client, search)
        assert state == "miss"
        assert found["data"]["search"]["totalCount"] > 0  # type: ignore[index]


def test_the_cache_can_be_turned_off(sample_settings: Settings, app_client: AppClient) -> None:
    settings = settings_for(sample_settings.data_dir, PLAN_ARCHIVE_RESPONSE_CACHE_MB="0")
    with app_client(settings) as client:
        _post(client, YEARS)
        assert _post(client, YEARS)[0] == "miss"


def test_queries_and_searches_during_ingests_see_before_or_after(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """Requests while reports go in (store, then index): no errors, and each answer's lists
    agree with each other: the store is read in one snapshot per request."""
    import threading

    from tests import variants

    settings = archive_copy(tmp_path, [SAMPLE])
    query = """{ measures { totalCount } fiscalYears { measureCount }
                 search(query: "人事評価") { totalCount } }"""
    problems: list[object] = []
    counts: set[int] = set()
    stop = threading.Event()
    with app_client(settings) as client:

        def ask() -> None:
            while not stop.is_set():
                body = client.post("/graphql", json={"query": query}).json()
                if "errors" in body:
                    problems.append(body["errors"])
                    continue
                data = body["data"]
                total = data["measures"]["totalCount"]
                if total != sum(y["measureCount"] for y in data["fiscalYears"]):
                    problems.append(data)
                counts.add(total)

        asker = threading.Thread(target=ask)
        asker.start()
        engine = open_store(settings)
        text = SAMPLE.read_text(encoding="utf-8")
        for number in range(8):
            with writer(engine)() as db, db.begin():
                report = variants.other_city(text, number)
                store_document(db, prepare_document(report, f"r{number}.txt"))
            apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        stop.set()
        asker.join(timeout=60)
        final = client.post("/graphql", json={"query": query}).json()["data"]
    assert problems == []
    assert counts <= {12 * n for n in range(1, 10)}
    assert final["measures"]["totalCount"] == 12 * 9
    assert final["search"]["totalCount"] == 9
