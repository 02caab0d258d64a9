"""#16 point 5: documents archived without structure are searchable, through GraphQL's
``searchDocuments`` (the real ASGI app, the real store and index) and ``plan-archive search``."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli import cli
from server.settings import Settings
from tests.conftest import SAMPLE, AppClient, archive_of, graphql

# Three notices the reader finds no measure in (archived without structure), in three
# municipalities and years; オオムラサキ is in two of them, お知らせ in all three, and none
# holds 市民, which the sample's measures do.
NOTICES = {
    "mito-2020.txt": "水戸市 お知らせ\n令和２年度の計画は別に定める。\n"
    "本年度はかわせみ公園の遊具を更新し、オオムラサキの観察会を開く。\n"
    "詳しくは広報みとでお知らせします。\n",
    "hitachi-2021.txt": "日立市 お知らせ\n令和３年度の計画は別に定める。\n"
    "かみね公園でオオムラサキの飼育を続ける。\n",
    "kasama-2019.txt": "笠間市 お知らせ\n令和元年度の計画は別に定める。\n"
    "陶炎祭の案内は追ってお知らせする。\n"
    # A long text: its one match far from the start, highlighted as a short fragment.
    + "本市の取組の経過を記す。\n" * 400
    + "最後に稲田みかげ石の採石場見学会を記す。\n",
}

SEARCH_DOCUMENTS = """
query($q: String!, $first: Int, $after: String, $last: Int, $before: String,
      $filter: DocumentSearchFilter, $order: SearchOrder = RELEVANCE) {
  searchDocuments(query: $q, first: $first, after: $after, last: $last, before: $before,
                  filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor score node { id municipality fiscalYear title measureCount }
            highlights { field fragments } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def _notices(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in NOTICES.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def notices_archive(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The sample report and the three notices."""
    folder = tmp_path_factory.mktemp("notices")
    return archive_of(folder / "data", [SAMPLE, *_notices(folder / "notices")])


@pytest.fixture
def client(notices_archive: Settings, app_client: AppClient) -> Iterator[TestClient]:
    with app_client(notices_archive) as test_client:
        yield test_client


def _documents(client: TestClient, q: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, SEARCH_DOCUMENTS, q=q, **variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["searchDocuments"]
    return found


def _error(client: TestClient, q: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, SEARCH_DOCUMENTS, q=q, **variables)
    assert body["data"] is None or body["data"]["searchDocuments"] is None, body
    error: dict[str, Any] = body["errors"][0]
    return error


def test_a_document_without_structure_is_found_with_highlights(client: TestClient) -> None:
    found = _documents(client, "オオムラサキ")
    assert found["totalCount"] == 2
    nodes = [edge["node"] for edge in found["edges"]]
    assert {(n["municipality"], n["fiscalYear"], n["measureCount"]) for n in nodes} == {
        ("水戸市", 2020, 0),
        ("日立市", 2021, 0),
    }
    for edge in found["edges"]:
        assert edge["score"] > 0
        [text] = edge["highlights"]
        assert text["field"] == "TEXT"
        assert "<mark>オオムラサキ</mark>" in text["fragments"][0]
    # A word of the title is highlighted in the title (and in the text, which holds it too).
    titled = _documents(client, "水戸市")["edges"][0]
    assert titled["node"]["title"] == "水戸市 お知らせ"
    fields = {h["field"]: h["fragments"] for h in titled["highlights"]}
    assert fields["TITLE"] == ["<mark>水戸市</mark> お知らせ"]
    # The query syntax is search's: a phrase, a field, a year.
    assert _documents(client, '"かわせみ 公園"')["totalCount"] == 1
    assert _documents(client, "オオムラサキ fiscalYear:2021")["totalCount"] == 1
    assert _documents(client, "title:オオムラサキ")["totalCount"] == 0


def test_a_long_text_is_highlighted_around_its_match(client: TestClient) -> None:
    [edge] = _documents(client, "みかげ石")["edges"]
    [text] = edge["highlights"]
    [fragment] = text["fragments"]
    assert "<mark>みかげ石</mark>" in fragment
    assert fragment.startswith("…")
    assert len(fragment) < 120  # about 40 characters each side, not the whole text
    assert len(NOTICES["kasama-2019.txt"]) > 5000


def test_a_text_dense_with_matches_gives_short_fragments(client: TestClient) -> None:
    """取組 is on 400 lines of one notice: three fragments of a few lines each (not the whole
    text as one), no match left unmarked in one."""
    [edge] = _documents(client, "取組")["edges"]
    [text] = edge["highlights"]
    assert len(text["fragments"]) == 3
    for fragment in text["fragments"]:
        assert len(fragment.replace("<mark>", "").replace("</mark>", "")) < 200
        assert fragment.count("取組") == fragment.count("<mark>取組</mark>") >= 1


def test_measures_and_documents_stay_apart(client: TestClient) -> None:
    """search gives measures, as before; searchDocuments gives no structured report."""
    measures = graphql(client, '{ search(query: "オオムラサキ") { totalCount } }')
    assert measures["data"]["search"]["totalCount"] == 0
    sample = graphql(client, '{ search(query: "市民") { totalCount edges { node { number } } } }')
    assert sample["data"]["search"]["totalCount"] == 4
    assert _documents(client, "市民")["totalCount"] == 0
    assert _documents(client, "人事評価")["totalCount"] == 0


def test_pages_through_every_hit_once_both_ways(client: TestClient) -> None:
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        page = _documents(client, "お知らせ", first=1, after=after)
        assert page["totalCount"] == 3
        pages.append(page)
        seen += [edge["node"]["municipality"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == ["日立市", "水戸市", "笠間市"]
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    # Backward from the last page's cursor: the first two, in the list's order.
    back = _documents(client, "お知らせ", last=2, before=pages[-1]["pageInfo"]["startCursor"])
    assert [e["node"]["municipality"] for e in back["edges"]] == seen[:2]
    assert back["pageInfo"]["hasNextPage"] is True
    assert back["pageInfo"]["hasPreviousPage"] is False
    # By year, as search orders.
    ordered = _documents(client, "お知らせ", order="FISCAL_YEAR_ASC")
    assert [e["node"]["fiscalYear"] for e in ordered["edges"]] == [2019, 2020, 2021]


def test_a_cursor_belongs_to_its_list(client: TestClient) -> None:
    cursor = _documents(client, "お知らせ", first=1)["pageInfo"]["endCursor"]
    measure_cursor = graphql(client, '{ search(query: "市", first: 1) { pageInfo { endCursor } } }')
    for q, variables in (
        ("お知らせ", {"after": measure_cursor["data"]["search"]["pageInfo"]["endCursor"]}),
        ("オオムラサキ", {"after": cursor}),
        ("お知らせ", {"after": cursor, "order": "FISCAL_YEAR_DESC"}),
        ("お知らせ", {"after": cursor, "filter": {"fiscalYears": [2020]}}),
        ("お知らせ", {"first": 1, "last": 1}),
        ("お知らせ", {"first": 101}),
        ('"open', {}),
    ):
        error = _error(client, q, **variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (q, variables)
    body = graphql(
        client,
        'query($c: String) { search(query: "お知らせ", after: $c) { totalCount } }',
        c=cursor,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # last alone is the end of the list, as on every connection.
    every = _documents(client, "お知らせ", first=100)["edges"]
    assert _documents(client, "お知らせ", last=1)["edges"] == every[-1:]


def test_filters_apply(client: TestClient) -> None:
    def count(q: str, where: dict[str, Any]) -> int:
        total: int = _documents(client, q, filter=where)["totalCount"]
        return total

    assert count("お知らせ", {"fiscalYears": [2021]}) == 1
    assert count("お知らせ", {"fiscalYears": [2019, 2020]}) == 2
    assert count("お知らせ", {"municipalities": ["水戸市"]}) == 1
    assert count("お知らせ", {"municipalities": ["水戸市", "笠間市"]}) == 2
    assert count("お知らせ", {"fiscalYearFrom": 2020}) == 2
    assert count("お知らせ", {"fiscalYearTo": 2019}) == 1
    assert count("お知らせ", {"fiscalYearFrom": 2020, "municipalities": ["笠間市"]}) == 0
    assert count("お知らせ", {"municipalities": ["つくば市"]}) == 0
    assert _documents(client, "お知らせ municipality:日立市")["totalCount"] == 1
    # No document without structure has a department.
    assert _documents(client, "お知らせ department:秘書課")["totalCount"] == 0


def _estimate(client: TestClient, query: str) -> int:
    body = graphql(client, query)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", body
    found = re.search(r"estimated cost is (\d+),", error["message"])
    assert found is not None
    return int(found.group(1))


def test_the_connection_costs_as_others(client: TestClient) -> None:
    """Its edges count first (or last) times, a document's text weighs 250: a page of 100
    texts is over the limit, one of 10 runs."""
    field = 'searchDocuments(query: "お知らせ", {page}) {{ edges {{ node {{ text }} }} }}'
    by_first = _estimate(client, "{ " + field.format(page="first: 100") + " }")
    assert by_first > 25_000
    cursor = _documents(client, "お知らせ", first=1)["pageInfo"]["endCursor"]
    by_last = _estimate(client, "{ " + field.format(page=f'last: 100, before: "{cursor}"') + " }")
    assert by_last == by_first
    small = graphql(client, "{ " + field.format(page="first: 10") + " }")
    assert "errors" not in small, small
    assert len(small["data"]["searchDocuments"]["edges"]) == 3


def test_a_cursor_whose_hits_changed_expires(tmp_path: Path, app_client: AppClient) -> None:
    """The first hit's document is deleted: the cursor after it is refused with
    CURSOR_EXPIRED, forward and backward; a new search pages the rest."""
    from archive.db import reader, writer
    from archive.ingest import delete_document
    from index.writing import apply_pending
    from server.resources import open_store

    settings = archive_of(tmp_path / "data", _notices(tmp_path / "notices"))
    with app_client(settings) as client:
        first = _documents(client, "お知らせ", first=1)
        cursor = first["pageInfo"]["endCursor"]
        node_id = first["edges"][0]["node"]["id"]
        document_id = int(base64.b64decode(node_id).split(b":")[1])
        engine = open_store(settings)
        with writer(engine)() as db, db.begin():
            delete_document(db, document_id)
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        for variables in ({"first": 1, "after": cursor}, {"last": 1, "before": cursor}):
            error = _error(client, "お知らせ", **variables)
            assert error["extensions"]["code"] == "CURSOR_EXPIRED", variables
            assert "search again" in error["message"]
        assert _documents(client, "お知らせ")["totalCount"] == 2


def test_a_cursor_holds_when_an_ingest_adds_hits_after_it(
    tmp_path: Path, app_client: AppClient
) -> None:
    """A 2019 notice ingested while a client pages: newest first, it comes after the cursor,
    which holds; oldest first, it comes before it, and the cursor expires."""
    paths = _notices(tmp_path / "notices")
    settings = archive_of(tmp_path / "data", paths[:2])
    with app_client(settings) as client:
        newest = _documents(client, "お知らせ", first=1, order="FISCAL_YEAR_DESC")
        oldest = _documents(client, "お知らせ", first=1, order="FISCAL_YEAR_ASC")
        archive_of(tmp_path / "data", paths[2:])
        rest = _documents(
            client,
            "お知らせ",
            after=newest["pageInfo"]["endCursor"],
            order="FISCAL_YEAR_DESC",
        )
        assert [e["node"]["fiscalYear"] for e in rest["edges"]] == [2020, 2019]
        error = _error(
            client, "お知らせ", after=oldest["pageInfo"]["endCursor"], order="FISCAL_YEAR_ASC"
        )
        assert error["extensions"]["code"] == "CURSOR_EXPIRED"


def test_plan_archive_search_shows_documents(tmp_path: Path, cli_env: dict[str, str]) -> None:

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=cli_env)
        assert result.exit_code == 0, result.output
        return result.output

    ingested = run("ingest", str(SAMPLE), *map(str, _notices(tmp_path / "notices")))
    assert ingested.count("archived without structure") == 3
    output = run("search", "オオムラサキ")
    assert output.startswith("0 hits for オオムラサキ\n")
    assert "2 documents without structure for オオムラサキ" in output
    assert "2020 水戸市  水戸市 お知らせ" in output
    assert "かわせみ公園の遊具を更新し、[オオムラサキ]の観察会を開く。" in output
    one = run("search", "みかげ石", "--fiscal-year", "2019")
    assert "1 document without structure for みかげ石" in one
    assert "[みかげ石]" in one
    assert "without structure" not in run("search", "みかげ石", "--fiscal-year", "2020")
    # A department filter leaves no document; the measures print as before.
    measures = run("search", "市民", "--department", "秘書課")
    assert measures.startswith("1 hit for 市民")
    assert "without structure" not in measures
    assert "without structure" not in run("search", "市民")
    # The index rebuilt from the store holds them as well.
    run("reindex")
    assert "2 documents without structure" in run("search", "オオムラサキ")
