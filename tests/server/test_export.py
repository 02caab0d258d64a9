"""Exports through the real ASGI app and the CLI: each file holds what the GraphQL API answers
for the same filter and order, on three years of Hitachi reports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

import schema.export
from archive.db import reader, writer
from archive.ingest import delete_document, find_document
from archive.models import Measure as MeasureRow
from schema.export import prepare_export
from server.cli import cli
from server.export import export_routes
from server.limits import RequestLimits, allow_streaming
from server.resources import open_searcher, open_store
from server.settings import Settings
from tests.conftest import (
    SAMPLE,
    AppClient,
    ArchiveCopy,
    archive_of,
    graphql,
    settings_for,
    store_env,
)

BOM = "\ufeff".encode()
MEASURE_FIELDS = """id fiscalYear number title description achievement municipality
  departments { name } departmentsOthers document { municipalityCode }
  carryOver { tag status fiscalYear }
  indicators { label value unit approximate text }"""
MEASURES = f"""query($filter: MeasureFilter, $order: MeasureOrder) {{
  measures(filter: $filter, orderBy: $order, first: 100) {{
    totalCount edges {{ node {{ {MEASURE_FIELDS} }} }} }} }}"""
SEARCH = f"""query($q: String!, $filter: MeasureFilter, $order: SearchOrder) {{
  search(query: $q, filter: $filter, orderBy: $order, first: 100) {{
    totalCount edges {{ score node {{ {MEASURE_FIELDS} }} }} }} }}"""

ERA_LABELS = {"2019": "令和元年度", "2020": "令和2年度", "2021": "令和3年度"}

# GraphQL filters and the same filters as export parameters.
FILTERS: list[tuple[dict[str, Any] | None, dict[str, Any]]] = [
    (None, {}),
    ({"fiscalYears": [2020]}, {"fiscalYear": "2020"}),
    ({"fiscalYears": [2019, 2021]}, {"fiscalYear": ["2019", "2021"]}),
    ({"departments": ["秘書課", "広報戦略課"]}, {"department": ["秘書課", "広報戦略課"]}),
    (
        {"fiscalYearFrom": 2020, "fiscalYearTo": 2021},
        {"fiscalYearFrom": "2020", "fiscalYearTo": "2021"},
    ),
    (
        {"nextYearStatuses": ["継続"], "municipalities": ["日立市"]},
        {"nextYearStatus": "継続", "municipality": "日立市"},
    ),
]


@pytest.fixture
def portal(three_years_archive: Settings, app_client: AppClient) -> Iterator[TestClient]:
    with app_client(three_years_archive) as client:
        yield client


def _api(client: TestClient, query: str, field: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, **variables)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"][field]
    assert answer["totalCount"] <= 100  # every measure is on the one page
    return answer


def _csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(BOM)
    return list(csv.DictReader(io.StringIO(content[len(BOM) :].decode("utf-8"), newline="")))


def _jsonl(content: bytes) -> list[dict[str, Any]]:
    assert not content.startswith(BOM)
    text = content.decode("utf-8")
    assert text.endswith("\n") or not text
    return [json.loads(line) for line in text.splitlines()]


def _page(node: dict[str, Any]) -> str:
    """The measure's page on the test client's site: the page's route, #/measure/<id>, with
    the id escaped as the page's own links escape it (encodeURIComponent)."""
    return "http://testserver/#/measure/" + quote(node["id"], safe="")


def _as_csv(node: dict[str, Any]) -> dict[str, str]:
    """What the API says of a measure, as the export's CSV columns."""
    carry = node["carryOver"] or {}
    return {
        "id": node["id"],
        "municipality": node["municipality"],
        "fiscal_year": str(node["fiscalYear"]),
        "number": node["number"],
        "title": node["title"],
        "departments": "、".join(d["name"] for d in node["departments"]),
        "description": node["description"],
        "achievement": node["achievement"],
        "next_year_tag": carry.get("tag") or "",
        "next_year_status": carry.get("status") or "",
        "next_year_fiscal_year": str(carry.get("fiscalYear") or ""),
        "departments_others": "外" if node["departmentsOthers"] else "",
        "municipality_code": node["document"]["municipalityCode"] or "",
        "url": _page(node),
    }


def _as_jsonl(node: dict[str, Any]) -> dict[str, Any]:
    carry = node["carryOver"] or {}
    return {
        "id": node["id"],
        "municipality": node["municipality"],
        "fiscal_year": node["fiscalYear"],
        "number": node["number"],
        "title": node["title"],
        "departments": [d["name"] for d in node["departments"]],
        "description": node["description"],
        "achievement": node["achievement"],
        "next_year_tag": carry.get("tag"),
        "next_year_status": carry.get("status"),
        "next_year_fiscal_year": carry.get("fiscalYear"),
        "indicators": node["indicators"],
        "departments_others": node["departmentsOthers"],
        "municipality_code": node["document"]["municipalityCode"],
        "url": _page(node),
    }


@pytest.mark.parametrize(("where", "params"), FILTERS)
def test_csv_holds_the_measures_the_api_lists(
    portal: TestClient, where: dict[str, Any] | None, params: dict[str, Any]
) -> None:
    api = _api(portal, MEASURES, "measures", filter=where)
    response = portal.get("/export.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["x-total-count"] == str(api["totalCount"])
    rows = _csv(response.content)
    for row in rows:
        assert row.pop("fiscal_year_label") == ERA_LABELS[row["fiscal_year"]]
    assert rows == [_as_csv(edge["node"]) for edge in api["edges"]]
    assert rows  # every filter above admits some measures
    if where is None:  # 達成状況 spanning lines comes back whole from the quoted cells
        assert any("\n" in row["achievement"] for row in rows)


@pytest.mark.parametrize(("where", "params"), FILTERS[:4])
def test_jsonl_holds_the_same_measures_with_indicators(
    portal: TestClient, where: dict[str, Any] | None, params: dict[str, Any]
) -> None:
    api = _api(portal, MEASURES, "measures", filter=where, order="FISCAL_YEAR_DESC")
    response = portal.get("/export.jsonl", params={**params, "order": "-fiscalYear"})
    assert response.status_code == 200, response.text
    rows = _jsonl(response.content)
    for row in rows:
        assert row.pop("fiscal_year_label") == ERA_LABELS[str(row["fiscal_year"])]
    assert rows == [_as_jsonl(edge["node"]) for edge in api["edges"]]
    assert any(row["indicators"] for row in rows)


@pytest.mark.parametrize(
    ("q", "where", "params"),
    [
        ("市", None, {}),
        ("市民", {"fiscalYears": [2020, 2021]}, {"fiscalYear": ["2020", "2021"]}),
        ("情報", {"fiscalYearFrom": 2021}, {"fiscalYearFrom": "2021"}),
        ("SNS OR 広報", {"departments": ["広報戦略課"]}, {"department": "広報戦略課"}),
    ],
)
def test_a_search_export_is_the_search_in_order(
    portal: TestClient, q: str, where: dict[str, Any] | None, params: dict[str, Any]
) -> None:
    api = _api(portal, SEARCH, "search", q=q, filter=where)
    assert api["edges"]
    csv_rows = _csv(portal.get("/export.csv", params={**params, "q": q}).content)
    jsonl_rows = _jsonl(portal.get("/export.jsonl", params={**params, "q": q}).content)
    assert [(r["id"], float(r["score"])) for r in csv_rows] == [
        (e["node"]["id"], e["score"]) for e in api["edges"]
    ]
    assert [(r["id"], r["score"]) for r in jsonl_rows] == [
        (e["node"]["id"], e["score"]) for e in api["edges"]
    ]
    for row in csv_rows:
        del row["fiscal_year_label"], row["score"]
    assert csv_rows == [_as_csv(e["node"]) for e in api["edges"]]


def test_search_order_by_fiscal_year(portal: TestClient) -> None:
    api = _api(portal, SEARCH, "search", q="市民", order="FISCAL_YEAR_DESC")
    rows = _jsonl(portal.get("/export.jsonl", params={"q": "市民", "order": "-fiscalYear"}).content)
    assert [r["id"] for r in rows] == [e["node"]["id"] for e in api["edges"]]


def test_the_limit_is_honoured(portal: TestClient) -> None:
    listed = _api(portal, MEASURES, "measures")["edges"]
    rows = _csv(portal.get("/export.csv", params={"limit": "5"}).content)
    assert [r["id"] for r in rows] == [e["node"]["id"] for e in listed[:5]]
    found = _api(portal, SEARCH, "search", q="市")["edges"]
    assert len(found) > 3
    rows = _csv(portal.get("/export.csv", params={"q": "市", "limit": "3"}).content)
    assert [r["id"] for r in rows] == [e["node"]["id"] for e in found[:3]]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("fiscalYear=20x", "fiscalYear must be a Western year such as 2020, not '20x'"),
        ("fiscalYear=令和2", "fiscalYear must be a Western year"),
        ("fiscalYearFrom=99999", "fiscalYearFrom must be a Western year"),
        ("fiscalYearTo=0999", "fiscalYearTo must be a Western year"),
        ("limit=0", "limit must be a whole number from 1 to 50000"),
        ("limit=-3", "limit must be a whole number"),
        ("limit=ten", "limit must be a whole number"),
        ("limit=50001", "limit must be a whole number from 1 to 50000"),
        ("limit=1&limit=2", "give limit once"),
        ("fiscal_year=2020", "unknown parameter 'fiscal_year'"),
        ("q=", "q is empty"),
        ("q=-SNS", "a search needs at least one term that is not excluded"),
        ("q=%22open", 'a quotation mark (") is not closed'),
        ("order=score", "order must be one of fiscalYear, -fiscalYear"),
        ("q=市&order=asc", "order must be one of relevance, fiscalYear, -fiscalYear"),
        # PostgreSQL refused a NUL: the export was a 500 with an ERROR in the log.
        ("municipality=%E6%97%A5%00", "municipality must not contain NUL (U+0000)"),
        ("q=%E5%B8%82%00&pillar=%00", "q must not contain NUL (U+0000)"),
    ],
)
def test_bad_parameters_are_a_400_with_one_line(
    client: TestClient, query: str, message: str
) -> None:
    for path in ("/export.csv", "/export.jsonl", "/export.xlsx"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/plain")
        assert message.lower() in response.text.lower()
        assert "\n" not in response.text.strip()
        assert "Traceback" not in response.text


def test_the_server_caps_an_export(sample_settings: Settings, app_client: AppClient) -> None:
    capped = settings_for(sample_settings.data_dir, PLAN_ARCHIVE_MAX_EXPORT_ROWS="5")
    with app_client(capped) as client:
        refused = client.get("/export.csv")
        assert refused.status_code == 400
        assert refused.text == (
            "the export holds 12 measures, more than this server's 5; "
            "narrow the filter or pass limit=5"
        )
        assert client.get("/export.jsonl", params={"q": "市"}).status_code == 400
        assert len(_jsonl(client.get("/export.jsonl", params={"limit": "5"}).content)) == 5
        assert client.get("/export.csv", params={"limit": "6"}).status_code == 400
        one = _csv(client.get("/export.csv", params={"department": "秘書課"}).content)
        assert [r["departments"] for r in one] == ["秘書課"]


def test_the_export_streams_in_batches(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema.export, "BATCH", 5)
    with client.stream("GET", "/export.csv") as response:
        assert response.status_code == 200
        assert response.headers["content-disposition"] == (
            'attachment; filename="plan-archive-measures.csv"'
        )
        assert "content-length" not in response.headers
        chunks = list(response.iter_raw())
    # The header, then the sample's 12 measures five at a time: nothing waits for the whole.
    header = chunks[0]
    assert _csv(header) == []
    assert [len(_csv(header + c)) for c in chunks[1:]] == [5, 5, 2]
    with client.stream("GET", "/export.jsonl?q=市") as response:
        assert response.headers["content-disposition"] == (
            'attachment; filename="plan-archive-search.jsonl"; '
            "filename*=UTF-8''plan-archive-%E5%B8%82.jsonl"
        )
        assert response.headers["content-type"] == "application/jsonl; charset=utf-8"
        assert sum(len(_jsonl(c)) for c in response.iter_raw()) == 8


def test_an_export_reads_one_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive_copy: ArchiveCopy
) -> None:
    """A report deleted while an export is being written is in the whole file or not at all."""
    monkeypatch.setattr(schema.export, "BATCH", 5)
    settings = archive_copy(tmp_path, [SAMPLE])
    engine = open_store(settings)
    searcher = open_searcher(settings)
    try:
        with reader(engine)() as db:
            found = prepare_export(db, searcher, query=None, where=None, order=None, limit=None)
            chunks = found.chunks("jsonl")
            first = next(chunks)
            with writer(engine)() as other, other.begin():
                document = find_document(other, "日立市", 2020)
                assert document is not None
                delete_document(other, document.id)
            rows = [json.loads(line) for line in (first + "".join(chunks)).splitlines()]
        assert [r["number"] for r in rows] == [f"{n:02d}" for n in range(1, 13)]
        with reader(engine)() as db:
            after = prepare_export(db, searcher, query=None, where=None, order=None, limit=None)
            assert "".join(after.chunks("jsonl")) == ""
            with pytest.raises(ValueError, match="format must be one of csv, jsonl, not 'xlsx'"):
                next(after.chunks("xlsx"))
    finally:
        searcher.close()
        engine.dispose()


def test_csv_cells_that_start_a_formula_are_quoted(tmp_path: Path, app_client: AppClient) -> None:
    report = tmp_path / "formula.txt"
    text = SAMPLE.read_text(encoding="utf-8")
    title = "SNSを活用した市長による情報発信の充実"
    report.write_text(text.replace(title, f"=HYPERLINK(1) {title}", 1), encoding="utf-8")
    settings = archive_of(tmp_path / "data", [report])
    with app_client(settings) as client:
        rows = _csv(client.get("/export.csv", params={"q": "HYPERLINK"}).content)
        assert [r["title"] for r in rows] == [f"'=HYPERLINK(1) {title}"]
        lines = _jsonl(client.get("/export.jsonl", params={"q": "HYPERLINK"}).content)
        assert [r["title"] for r in lines] == [f"=HYPERLINK(1) {title}"]  # JSON keeps the text


def test_text_a_reader_could_misread_comes_out_safe(
    tmp_path: Path, app_client: AppClient, archive_copy: ArchiveCopy
) -> None:
    """Formula starts (full-width too, after spaces) are quoted in CSV; line breaks that
    splitlines() splits on stay inside a JSON line; line breaks in a cell survive CSV."""
    settings = archive_copy(tmp_path, [SAMPLE])
    titles = {
        "01": "＝SUM(A1)",
        "02": "\u3000=1+1",
        "03": " @cmd",
        "04": "－5",
        "05": "＋1",
        "06": "a\u2028b\u2029c\x85d",
        "07": "一行目\r\n二行目\n三行目",
        "08": "題に＝を含む",
    }
    engine = open_store(settings)
    with writer(engine)() as db, db.begin():
        for measure in db.scalars(select(MeasureRow)):
            measure.title = titles.get(measure.number, measure.title)
    engine.dispose()
    with app_client(settings) as client:
        rows = _csv(client.get("/export.csv").content)
        text = client.get("/export.jsonl").content.decode()
    csv_titles = {row["number"]: row["title"] for row in rows}
    guarded = {"01", "02", "03", "04", "05"}
    assert {n: csv_titles[n] for n in titles} == {
        n: "'" + t if n in guarded else t for n, t in titles.items()
    }
    assert len(text.splitlines()) == len(rows) == 12
    assert "\\u2028" in text
    lines = {row["number"]: row["title"] for row in map(json.loads, text.splitlines())}
    assert {n: lines[n] for n in titles} == titles  # JSON keeps the text


def _run(settings: Settings, *args: str) -> Any:
    env = {"PLAN_ARCHIVE_DATABASE_URL": "", **store_env(settings.data_dir)}
    return CliRunner().invoke(cli, ["export", *args], env=env)


def test_cli_export_is_the_api_list(
    three_years_archive: Settings, portal: TestClient, tmp_path: Path
) -> None:
    api = _api(portal, MEASURES, "measures", filter={"fiscalYears": [2021]})
    result = _run(three_years_archive, "--fiscal-year", "2021")
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout_bytes)
    assert [r["id"] for r in rows] == [e["node"]["id"] for e in api["edges"]]

    found = _api(portal, SEARCH, "search", q="市民", filter={"departments": ["広報戦略課"]})
    out = tmp_path / "hits.jsonl"
    result = _run(
        three_years_archive, "--query", "市民", "--department", "広報戦略課", "--format", "jsonl",
        "-o", str(out), "--limit", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = _jsonl(out.read_bytes())
    assert [(r["id"], r["score"]) for r in lines] == [
        (e["node"]["id"], e["score"]) for e in found["edges"][:2]
    ]
    assert not list(tmp_path.glob("*.part"))


def test_cli_refuses_bad_input_in_one_line_and_writes_nothing(
    sample_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    for args, message in [
        (["--query", "-SNS"], "error: a search needs at least one term that is not excluded"),
        (["--order", "sideways"], "error: order must be one of fiscalYear, -fiscalYear"),
    ]:
        result = _run(sample_settings, *args, "-o", str(out))
        assert result.exit_code == 2
        assert result.output.strip() == message
    assert list(tmp_path.iterdir()) == []
    assert _run(sample_settings, "--limit", "0").exit_code == 2
    assert _run(sample_settings, "--format", "xlsx").exit_code == 2
    for option in ("--fiscal-year", "--fiscal-year-from", "--fiscal-year-to"):
        for year in ("20", "0999", "10000"):  # as over HTTP: four digits
            result = _run(sample_settings, option, year, "-o", str(out))
            assert result.exit_code == 2
            assert f"{int(year)} is not in the range 1000<=x<=9999" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_search_is_the_api_search(sample_settings: Settings, client: TestClient) -> None:
    env = {"PLAN_ARCHIVE_DATABASE_URL": "", **store_env(sample_settings.data_dir)}
    api = _api(client, SEARCH, "search", q="市民", filter={"fiscalYears": [2020]})
    result = CliRunner().invoke(
        cli, ["search", "市民", "--fiscal-year", "2020", "--limit", "100"], env=env
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{api['totalCount']} hits for 市民\n")
    titles = [line.split("  ", 1)[1] for line in result.output.splitlines() if "日立市 No" in line]
    assert titles == [e["node"]["title"] for e in api["edges"]]
    for args, message in [
        (["search", '"open'], 'error: a quotation mark (") is not closed'),
        (["search", "市", "--fiscal-year", "20"], "20 is not in the range 1000<=x<=9999"),
    ]:
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 2
        assert message in result.output


def _scope(
    path: str, method: str = "GET", headers: tuple[tuple[bytes, bytes], ...] = ()
) -> dict[str, Any]:
    target, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # as uvicorn says
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


class _Client:
    """An HTTP client as the ASGI app sees it, driven by events: after ``reads`` body
    messages it stops reading (its send never returns); it leaves when ``gone`` is set."""

    def __init__(self, reads: int = 1 << 30) -> None:
        self.reads = reads
        self.messages: list[Any] = []
        self.stalled = asyncio.Event()
        self.gone = asyncio.Event()
        self.requested = False

    async def receive(self) -> Any:
        if not self.requested:  # the request, once; then nothing until the client leaves
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Any) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.reads -= 1
            if self.reads <= 0 and message.get("more_body"):
                self.stalled.set()
                await asyncio.Event().wait()  # never read: the send never returns

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    @property
    def complete(self) -> bool:
        return self.messages[-1]["type"] == "http.response.body" and not self.messages[-1].get(
            "more_body", False
        )


@pytest.fixture
def store(sample_settings: Settings) -> Iterator[tuple[Any, Any]]:
    engine = open_store(sample_settings)
    searcher = open_searcher(sample_settings)
    yield engine, searcher
    searcher.close()
    engine.dispose()


def test_an_export_past_the_cap_is_a_503_and_a_gone_client_frees_its_connection(
    store: tuple[Any, Any],
) -> None:
    engine, searcher = store
    app = Starlette(routes=export_routes(reader(engine), searcher, 100, max_concurrent=1))

    async def main() -> None:
        reading = _Client(reads=1)  # takes the header, then reads no more
        task = asyncio.create_task(app(_scope("/export.csv"), reading.receive, reading.send))
        await reading.stalled.wait()
        assert engine.pool.checkedout() == 1
        refused = _Client()
        await app(_scope("/export.jsonl"), refused.receive, refused.send)
        assert refused.status == 503
        assert refused.body == b"this server is writing 1 exports already; try again later"
        japanese = _Client()  # the page asks in Japanese, with HEAD: the headers say it all
        scope = _scope("/export.xlsx", "HEAD", ((b"accept-language", b"ja,en;q=0.8"),))
        await app(scope, japanese.receive, japanese.send)
        assert japanese.status == 503
        headers = {k.decode(): v.decode() for k, v in japanese.messages[0]["headers"]}
        assert headers["x-error-code"] == headers["x-error-reason"] == "EXPORTS_BUSY"
        said = unquote(headers["x-error-message"])
        assert "書き出し" in said
        assert japanese.body in (b"", said.encode())
        assert engine.pool.checkedout() == 1
        reading.gone.set()  # the client disconnects
        await task
        assert not reading.complete
        assert engine.pool.checkedout() == 0
        again = _Client()  # the place is free again
        await app(_scope("/export.jsonl?limit=2"), again.receive, again.send)
        assert again.status == 200
        assert again.complete
        assert len(_jsonl(again.body)) == 2
        assert engine.pool.checkedout() == 0

    asyncio.run(main())


def test_a_stream_cut_by_the_stream_timeout_closes_its_session(store: tuple[Any, Any]) -> None:
    engine, searcher = store
    routes = export_routes(reader(engine), searcher, 100, send_timeout=3600)
    app = RequestLimits(
        Starlette(routes=routes), max_body=10, max_upload=10, timeout=1, stream_timeout=1
    )

    async def main() -> None:
        client = _Client(reads=1)
        await app(_scope("/export.csv"), client.receive, client.send)  # returns when cut
        assert client.stalled.is_set()
        assert client.status == 200
        assert not client.complete
        assert engine.pool.checkedout() == 0

    asyncio.run(main())


def test_a_client_that_reads_nothing_is_cut_after_the_send_timeout(
    store: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    engine, searcher = store
    app = Starlette(routes=export_routes(reader(engine), searcher, 100, send_timeout=0.05))

    async def main() -> None:
        client = _Client(reads=1)
        await app(_scope("/export.csv"), client.receive, client.send)  # no stream timeout here
        assert client.status == 200
        assert not client.complete
        assert engine.pool.checkedout() == 0

    asyncio.run(main())
    assert "an export's client read nothing for 0.05 s; cut" in caplog.text


def test_head_answers_the_headers_without_the_rows(client: TestClient) -> None:
    got = client.get("/export.csv", params={"q": "市"})
    head = client.head("/export.csv", params={"q": "市"})
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-disposition", "x-total-count"):
        assert head.headers[name] == got.headers[name]
    assert client.head("/export.csv", params={"limit": "0"}).status_code == 400


async def _stream(scope: Any, receive: Any, send: Any) -> None:
    """Starts the answer, sends ``a``, then after ``scope["wait"]`` seconds (never if None)
    ``b`` and the end; an export asks for the stream timeout first."""
    if scope["export"]:
        allow_streaming(scope)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"a", "more_body": True})
    if scope["wait"] is None:
        await asyncio.Event().wait()
    await asyncio.sleep(scope["wait"])
    await send({"type": "http.response.body", "body": b"b", "more_body": False})


def _streamed(app: Any, export: bool, wait: float | None) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app({**_scope("/"), "export": export, "wait": wait}, receive, send))
    return sent


def test_only_an_export_runs_past_the_request_timeout_up_to_the_stream_timeout() -> None:
    app = RequestLimits(_stream, max_body=10, max_upload=10, timeout=0.05, stream_timeout=3600)
    # The wait starts after the request did and lasts longer than the request timeout, so
    # asyncio runs the timeout's callback first: without the stream timeout it cuts.
    sent = _streamed(app, export=True, wait=0.1)
    assert [m.get("body") for m in sent[1:]] == [b"a", b"b"]  # whole
    sent = _streamed(app, export=False, wait=0.1)  # not an export: cut
    assert [m.get("body") for m in sent[1:]] == [b"a"]
    cut = RequestLimits(_stream, max_body=10, max_upload=10, timeout=0.05, stream_timeout=0.1)
    sent = _streamed(cut, export=True, wait=None)  # never ends: cut at the stream timeout
    assert sent[0]["status"] == 200
    assert [m.get("body") for m in sent[1:]] == [b"a"]
