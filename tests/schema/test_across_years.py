"""Across the years through the real ASGI app, on three years of Hitachi reports: figures
(indicators) and their series, carry-over checks, and comparing a measure between years."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import REPORTS, AppClient, ArchiveCopy, graphql

MEASURE = """query($year: Int!) { measures(first: 20, filter: {fiscalYears: [$year]}) {
  edges { node { id number title achievement carryOverFlags
    indicators { label value unit approximate comparison text start end fiscalYear } } } } }"""


@pytest.fixture(scope="module")
def client(three_years_archive: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(three_years_archive)) as test_client:
        yield test_client


def _year(client: TestClient, year: int) -> dict[str, dict[str, Any]]:
    body = graphql(client, MEASURE, year=year)
    assert "errors" not in body, body
    return {e["node"]["number"]: e["node"] for e in body["data"]["measures"]["edges"]}


def test_indicators_of_a_measure(client: TestClient) -> None:
    sns = _year(client, 2020)["01"]
    figures = {(f["label"], f["unit"]): f for f in sns["indicators"]}
    assert figures[("投稿総数", "件")]["value"] == 99
    reach = figures[("累計リーチ", "人")]
    assert reach["value"] == 530_000
    assert reach["approximate"] is True
    assert reach["fiscalYear"] == 2020
    for figure in sns["indicators"]:
        assert sns["achievement"][figure["start"] : figure["end"]] == figure["text"]
    ratio = next(f for f in _year(client, 2020)["11"]["indicators"] if f["unit"] == "")
    assert (ratio["value"], ratio["comparison"], ratio["approximate"]) == (0.5, "程度", True)


def test_a_figure_as_a_series_over_the_years(client: TestClient) -> None:
    measure_id = _year(client, 2021)["02"]["id"]
    query = """query($id: ID!) { node(id: $id) { ... on Measure {
      posts: indicatorSeries(unit: "ダウンロード") { fiscalYear value }
      tiles: indicatorSeries(unit: "タイル") { fiscalYear value } } } }"""
    node = graphql(client, query, id=measure_id)["data"]["node"]
    assert [(f["fiscalYear"], f["value"]) for f in node["posts"]] == [
        (2019, 8_210),
        (2020, 11_050),
        (2021, 15_300),
    ]
    assert [f["value"] for f in node["tiles"]] == [7, 8, 9]
    sns = _year(client, 2019)["01"]["id"]
    query = """query($id: ID!) { node(id: $id) { ... on Measure {
      indicatorSeries(label: "投稿総数") { fiscalYear value } } } }"""
    series = graphql(client, query, id=sns)["data"]["node"]["indicatorSeries"]
    assert [f["value"] for f in series] == [85, 99, 120]
    bad = graphql(client, "{ measures { edges { node { indicatorSeries { value } } } } }")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_carry_over_promises_are_checked_against_the_next_report(client: TestClient) -> None:
    fy2019, fy2020, fy2021 = (_year(client, year) for year in (2019, 2020, 2021))
    # 高齢者向け行政番組 was tagged [R3継続] in FY2020 but is not in FY2021's report.
    assert fy2020["04"]["carryOverFlags"] == ["ANNOUNCED_BUT_MISSING"]
    # キャッシュレス決済 is new in FY2021; 都市計画情報 was untagged in FY2020.
    assert fy2021["11"]["carryOverFlags"] == ["NEW_UNANNOUNCED"]
    assert fy2021["10"]["carryOverFlags"] == ["CONTINUED_UNANNOUNCED"]
    assert fy2020["11"]["carryOverFlags"] == ["NEW_UNANNOUNCED"]
    # Kept promises raise nothing, nor does a year without an archived report before it.
    assert fy2020["01"]["carryOverFlags"] == []
    assert fy2021["08"]["carryOverFlags"] == []  # RPA, renumbered 10 → 09 → 08
    assert all(m["carryOverFlags"] == [] for m in fy2019.values())


COMPARE = """query($id: ID!, $year: Int!) { compare(measure: $id, fiscalYear: $year) {
  before { fiscalYear title } after { fiscalYear title } titleChanged
  departmentsAdded departmentsRemoved nextYearStatusBefore nextYearStatusAfter
  indicators { label unit delta before { value } after { value } }
  description { op text } achievement { op text } } }"""


def _diff_sides(changes: list[dict[str, str]]) -> tuple[str, str]:
    before = "".join(c["text"] for c in changes if c["op"] in ("equal", "delete"))
    after = "".join(c["text"] for c in changes if c["op"] in ("equal", "insert"))
    return before, after


def test_compare_a_measure_between_two_years(client: TestClient) -> None:
    app_2020 = _year(client, 2020)["02"]
    body = graphql(client, COMPARE, id=app_2020["id"], year=2019)
    assert "errors" not in body, body
    found = body["data"]["compare"]
    assert (found["before"]["fiscalYear"], found["after"]["fiscalYear"]) == (2019, 2020)
    assert found["titleChanged"] is False
    assert found["departmentsAdded"] == ["行政マネジメント課"]
    assert found["departmentsRemoved"] == ["行政改革推進課"]
    deltas = {(f["unit"]): f["delta"] for f in found["indicators"]}
    assert deltas["ダウンロード"] == 11_050 - 8_210
    assert deltas["タイル"] == 1
    sns = graphql(client, COMPARE, id=_year(client, 2019)["01"]["id"], year=2021)["data"]
    assert sns["compare"]["titleChanged"] is True
    posts = next(f for f in sns["compare"]["indicators"] if f["label"] == "投稿総数")
    assert (posts["before"]["value"], posts["after"]["value"], posts["delta"]) == (85, 120, 35)


def test_compare_text_diff_rebuilds_both_texts(client: TestClient) -> None:
    numbers = _year(client, 2020)
    for number in ("03", "05", "10"):
        measure = numbers[number]
        body = graphql(
            client,
            """query($id: ID!, $year: Int!) { compare(measure: $id, fiscalYear: $year) {
              before { achievement } after { achievement } achievement { op text } } }""",
            id=measure["id"],
            year=2021,
        )
        found = body["data"]["compare"]
        assert _diff_sides(found["achievement"]) == (
            found["before"]["achievement"],
            found["after"]["achievement"],
        )
        assert any(c["op"] != "equal" for c in found["achievement"])


def test_compare_without_a_partner_or_with_a_bad_id(client: TestClient) -> None:
    dropped = _year(client, 2020)["04"]["id"]  # not in FY2021
    assert graphql(client, COMPARE, id=dropped, year=2021)["data"] == {"compare": None}
    bad = graphql(client, COMPARE, id="nonsense", year=2021)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def _load_curation(settings: Settings, text: str) -> None:
    """What `plan-archive link FILE` does, through the same functions and a writer."""
    from archive import curation
    from archive.db import writer
    from server.resources import open_store

    engine = open_store(settings)
    with writer(engine)() as db, db.begin():
        curation.replace(db, curation.parse(text))
    engine.dispose()


HISTORY = """query($year: Int!) { measures(first: 20, filter: {fiscalYears: [$year]}) {
  edges { node { number history { fiscalYear number } } } } }"""


def _histories(client: TestClient, year: int) -> dict[str, list[tuple[int, str]]]:
    edges = graphql(client, HISTORY, year=year)["data"]["measures"]["edges"]
    return {
        e["node"]["number"]: [(h["fiscalYear"], h["number"]) for h in e["node"]["history"]]
        for e in edges
    }


def test_curated_links_override_the_rule_and_survive_reingest(
    tmp_path: Any, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    from archive.db import reader, writer
    from archive.ingest import delete_document, find_document, prepare_document, store_document
    from index.writing import apply_pending
    from server.resources import open_store

    settings = archive_copy(tmp_path, REPORTS)
    with app_client(settings) as client:
        rule = _histories(client, 2020)
        assert rule["04"] == [(2019, "04"), (2020, "04")]  # dropped in 2021
        assert (2021, "01") in rule["01"]
        _load_curation(
            settings,
            "link,日立市,2020,04,2021,05   # a curator's (made-up) link\n"
            "unlink,日立市,2020,01,2021\n",
        )
        curated = _histories(client, 2020)
        assert curated["04"] == [(2019, "04"), (2020, "04"), (2021, "05")]
        assert curated["01"] == [(2019, "01"), (2020, "01")]
        # The other side follows: FY2021 No 05 points back at FY2020 No 04, and FY2020 No 05
        # (its self by the rule) no longer claims it.
        assert (2020, "04") in _histories(client, 2021)["05"]
        assert (2021, "05") not in curated["05"]
        # Delete and ingest FY2021 again: new row ids, the same links.
        engine = open_store(settings)
        report = REPORTS[2]
        with writer(engine)() as db, db.begin():
            old = find_document(db, "日立市", 2021)
            assert old is not None
            delete_document(db, old.id)
        with writer(engine)() as db, db.begin():
            store_document(db, prepare_document(report.read_bytes(), report.name))
        apply_pending(reader(engine), settings.index_dir)
        engine.dispose()
        assert _histories(client, 2020) == curated


def test_department_years_follow_a_declared_rename(
    tmp_path: Any, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    settings = archive_copy(tmp_path, REPORTS)
    query = """{ departments { name years { fiscalYear name measureCount
      measures { number } } } }"""
    compare_query = """query($id: ID!) { compare(measure: $id, fiscalYear: 2019) {
      departmentsAdded departmentsRemoved departmentsRenamed { before after } } }"""
    with app_client(settings) as client:
        years = {d["name"]: d["years"] for d in graphql(client, query)["data"]["departments"]}
        assert [y["fiscalYear"] for y in years["行政マネジメント課"]] == [2020, 2021]
        assert [y["fiscalYear"] for y in years["行政改革推進課"]] == [2019]
        measure = _year(client, 2020)["02"]["id"]
        plain = graphql(client, compare_query, id=measure)["data"]["compare"]
        assert plain["departmentsRenamed"] == []
        _load_curation(settings, "rename,行政改革推進課,行政マネジメント課,2020\n")
        years = {d["name"]: d["years"] for d in graphql(client, query)["data"]["departments"]}
        renamed = years["行政マネジメント課"]
        assert [(y["fiscalYear"], y["name"]) for y in renamed] == [
            (2019, "行政改革推進課"),
            (2020, "行政マネジメント課"),
            (2021, "行政マネジメント課"),
        ]
        assert renamed[0]["measureCount"] == len(renamed[0]["measures"]) == 7
        found = graphql(client, compare_query, id=measure)["data"]["compare"]
        assert found["departmentsRenamed"] == [
            {"before": "行政改革推進課", "after": "行政マネジメント課"}
        ]
        assert found["departmentsAdded"] == []
        assert found["departmentsRemoved"] == []


def test_department_years_cost_the_same_queries_for_one_year_or_three(
    sample_settings: Settings, three_years_archive: Settings, app_client: AppClient
) -> None:
    from sqlalchemy import event

    query = "{ departments { name years { fiscalYear measures { number carryOverFlags } } } }"
    counts = []
    for settings in (sample_settings, three_years_archive):  # REPORTS[1:2], REPORTS
        with app_client(settings) as client:
            app = next(r.app for r in client.app.routes if r.path == "/graphql")  # type: ignore[attr-defined]
            statements: list[str] = []

            def count(*args: Any, into: list[str] = statements) -> None:
                into.append(args[2])

            event.listen(app.engine, "before_cursor_execute", count)
            body = graphql(client, query)
            event.remove(app.engine, "before_cursor_execute", count)
            assert "errors" not in body, body
            counts.append(len(statements))
    assert counts[0] == counts[1], counts
