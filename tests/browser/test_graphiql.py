"""GraphiQL at GET /graphql in headless Chromium, with every request off this server
blocked, as on a city network without internet: it loads from plan-archive's own files,
under the search page's Content-Security-Policy, and runs a query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import Route, expect

from server.page import GRAPHIQL_HEADERS, SECURITY_HEADERS
from server.settings import Settings
from tests.browser.conftest import Visit
from tests.conftest import post_graphql, serving

pytestmark = pytest.mark.browser

QUERY = "{ fiscalYears { year measureCount } }"


@pytest.fixture(scope="module")
def sample_server(sample_settings: Settings, chromium: str) -> Iterator[int]:
    with serving(sample_settings) as port:
        yield port


def test_graphiql_loads_offline_and_runs_a_query(sample_server: int, visit: Visit) -> None:
    page = visit.page
    elsewhere: list[str] = []

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    answer = page.goto(f"http://127.0.0.1:{sample_server}/graphql?q={quote(QUERY)}")
    assert answer is not None
    assert answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert policy == GRAPHIQL_HEADERS["content-security-policy"]
    # The search page's policy but for Trusted Types (see server/page.py).
    page_policy = SECURITY_HEADERS["content-security-policy"]
    assert set(policy.split("; ")) == set(page_policy.split("; ")) - {
        "require-trusted-types-for 'script'"
    }
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    years = post_graphql(sample_server, QUERY)["data"]["fiscalYears"]
    expect(result).to_contain_text('"fiscalYears"')
    expect(result).to_contain_text(f'"year": {years[0]["year"]}')
    # The documentation explorer renders the schema's descriptions as markup.
    page.get_by_label("Show Documentation Explorer").click()
    explorer = page.locator(".graphiql-doc-explorer")
    explorer.get_by_text("Document", exact=True).click()
    description = _description("Document", "rawText", post_graphql(sample_server, FIELDS))
    expect(explorer).to_contain_text(description)
    assert elsewhere == []
    visit.assert_clean()


FIELDS = "{ __schema { types { name fields { name description } } } }"


def _description(type_name: str, field: str, schema: dict[str, Any]) -> str:
    types = {kind["name"]: kind for kind in schema["data"]["__schema"]["types"]}
    found: str = next(f for f in types[type_name]["fields"] if f["name"] == field)["description"]
    return found
