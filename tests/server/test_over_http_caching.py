"""Caching headers of /graphql answers (#15 point 7, part), through the real ASGI app: a GET
answer varies by Accept; one without errors may be kept but must be revalidated (the archive
changes on ingest), an error is never kept; POST answers are left as they were."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from server.over_http import GRAPHQL_RESPONSE, JSON, vary_on_accept
from server.settings import Settings
from tests.conftest import AppClient, settings_for

BOTH = f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"
YEARS = "{ fiscalYears { year measureCount } }"


def _vary(answer: Any) -> list[str]:
    """The names in an answer's Vary, lower case."""
    vary: str = answer.headers.get("vary", "")
    return [name.strip().lower() for name in vary.split(",") if name.strip()]


@pytest.fixture(params=["cache on", "cache off"])
def any_client(
    request: pytest.FixtureRequest, sample_settings: Settings, app_client: AppClient
) -> Iterator[TestClient]:
    """The app with its response cache, and without: the headers must not depend on it."""
    settings = sample_settings
    if request.param == "cache off":
        settings = settings_for(sample_settings.data_dir, PLAN_ARCHIVE_RESPONSE_CACHE_MB="0")
    with app_client(settings) as client:
        yield client


@pytest.mark.parametrize("accept", [BOTH, JSON, None, "*/*"])
def test_a_get_answer_without_errors_varies_by_accept_and_is_revalidated(
    any_client: TestClient, accept: str | None
) -> None:
    headers = {} if accept is None else {"accept": accept}
    answers = [
        any_client.get("/graphql", params={"query": YEARS}, headers=headers) for _ in range(2)
    ]
    for answer in answers:  # the second from the response cache, when it is on
        assert answer.status_code == 200
        assert "errors" not in answer.json()
        assert answer.json()["data"]["fiscalYears"]
        assert answer.headers["cache-control"] == "no-cache"
        assert _vary(answer) == ["accept"]
    assert answers[0].json() == answers[1].json()


def test_the_cache_hit_carries_the_same_headers(client: TestClient) -> None:
    query = "{ fiscalYears { year } }"
    first = client.get("/graphql", params={"query": query}, headers={"accept": BOTH})
    second = client.get("/graphql", params={"query": query}, headers={"accept": BOTH})
    assert "x-cache" not in first.headers
    assert second.headers.get("x-cache") == "hit"
    for answer in (first, second):
        assert (answer.headers["cache-control"], _vary(answer)) == ("no-cache", ["accept"])
        assert answer.headers["content-type"].startswith(GRAPHQL_RESPONSE)


def _persisted(query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ measures(first: 0) { totalCount } }"}, "BAD_USER_INPUT"),  # in a field
        ({"query": 'mutation { deleteDocument(id: "x") { id } }'}, "METHOD_NOT_ALLOWED"),
        ({"query": "{ a: fiscalYears { year } } { b: fiscalYears { year } }"}, None),
        ({"extensions": _persisted("{ documents { title } }")}, "PERSISTED_QUERY_NOT_FOUND"),
        ({}, "BAD_REQUEST"),  # no query
    ],
)
@pytest.mark.parametrize("accept", [BOTH, JSON])
def test_a_get_error_answer_is_not_stored(
    any_client: TestClient, params: dict[str, str], code: str | None, accept: str
) -> None:
    for _ in range(2):  # an error is never kept by the server either
        answer = any_client.get("/graphql", params=params, headers={"accept": accept})
        body = answer.json()
        assert body["errors"], body
        if code is not None:
            assert body["errors"][0]["extensions"]["code"] == code
        assert answer.headers["cache-control"] == "no-store"
        assert _vary(answer) == ["accept"]
        assert "x-cache" not in answer.headers


def test_graphiql_keeps_its_own_cache_control_and_varies_by_accept(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert _vary(page) == ["accept"]
    # The same URL asked for JSON is a GraphQL error: a cache must tell the two apart.
    plain = client.get("/graphql", headers={"accept": JSON})
    assert plain.headers["content-type"].startswith(JSON)
    assert plain.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "body",
    [
        {"query": YEARS},
        {"query": "{ noSuchField }"},
        {"query": "{ measures(first: 0) { totalCount } }"},
    ],
)
def test_post_answers_carry_no_caching_headers(any_client: TestClient, body: object) -> None:
    for _ in range(2):
        answer = any_client.post("/graphql", json=body, headers={"accept": BOTH})
        assert answer.status_code in (200, 400)
        assert "cache-control" not in answer.headers
        assert "vary" not in answer.headers


def test_other_methods_carry_no_caching_headers(client: TestClient) -> None:
    answer = client.put("/graphql", json={"query": YEARS})
    assert answer.status_code == 405
    assert "cache-control" not in answer.headers


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, "Accept"),
        ("Origin", "Origin, Accept"),
        ("Origin, Accept-Encoding", "Origin, Accept-Encoding, Accept"),
        ("origin,accept", "origin, accept"),
        ("*", "*"),
    ],
)
def test_vary_keeps_what_was_there(before: str | None, after: str) -> None:
    response = Response(b"{}", headers={} if before is None else {"vary": before})
    vary_on_accept(response)
    assert response.headers["vary"] == after
    assert response.headers.getlist("vary") == [after]  # one header, not two


def test_vary_joins_several_headers() -> None:
    response = Response(b"{}")
    response.headers.append("vary", "Origin")
    response.headers.append("vary", "Accept-Language, Accept")
    vary_on_accept(response)
    assert response.headers.getlist("vary") == ["Origin, Accept-Language, Accept"]


def test_a_cache_revalidates_with_the_etag_and_gets_304_until_the_archive_changes(
    tmp_path: Any,
    app_client: AppClient,
) -> None:
    """#15 point 7: persisted GETs "that caches can hold" — a cache that holds an answer asks
    again with If-None-Match and gets 304 without a body, until an ingest changes it."""
    from tests.conftest import REPORTS, archive_of

    settings = archive_of(tmp_path, REPORTS[:1])
    with app_client(settings) as client:
        first = client.get("/graphql", params={"query": YEARS})
        tag = first.headers["etag"]
        again = client.get("/graphql", params={"query": YEARS}, headers={"if-none-match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert (again.headers["etag"], again.headers["cache-control"]) == (tag, "no-cache")
        assert _vary(again) == ["accept"]
        weak = client.get(
            "/graphql", params={"query": YEARS}, headers={"if-none-match": f'"x", W/{tag}'}
        )
        assert weak.status_code == 304
        # Another media type is another answer, with its own tag.
        other = client.get(
            "/graphql", params={"query": YEARS}, headers={"if-none-match": tag, "accept": BOTH}
        )
        assert (other.status_code, other.headers["content-type"]) == (
            200,
            f"{GRAPHQL_RESPONSE}; charset=utf-8",
        )
        assert other.headers["etag"] != tag
        archive_of(tmp_path, REPORTS[1:2])
        changed = client.get("/graphql", params={"query": YEARS}, headers={"if-none-match": tag})
        assert changed.status_code == 200
        assert len(changed.json()["data"]["fiscalYears"]) == 2
        assert changed.headers["etag"] != tag
        # Errors and POST answers carry no tag.
        error = client.get("/graphql", params={"query": "{ nope }"})
        assert "etag" not in error.headers
        posted = client.post("/graphql", json={"query": YEARS})
        assert "etag" not in posted.headers
