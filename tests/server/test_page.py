"""The search page's files through the real ASGI app: what is served, with which headers, and
that the GraphQL middleware (limits, response cache) leaves them alone. The page's behaviour
is tested in a browser: tests/browser/."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from server.page import SECURITY_HEADERS, STATIC


def test_the_page_and_its_files_are_served_with_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {path.rsplit("/", 1)[1] for path in assets} == {
        "app.js",
        "app.css",
        "charts.css",
        "favicon.svg",
    }
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    for response, path in [(page, "/"), *((client.get(path), path) for path in assets)]:
        assert response.status_code == 200, path
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        if path != "/":
            assert response.headers["content-type"].startswith(types[path.rsplit(".", 1)[1]])
            assert response.content == (STATIC / path.removeprefix("/static/")).read_bytes()
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    # Trusted Types: a string can never become markup through innerHTML and its kin.
    assert "require-trusted-types-for 'script'" in csp
    assert "unsafe" not in csp
    assert "http" not in csp


def test_the_page_asks_nothing_of_other_origins() -> None:
    """No CDN, no absolute URL: everything the page loads or calls is ours. (GraphiQL's
    vendored files, in a folder of their own, name URLs in comments; tests/browser/
    test_graphiql.py loads it with every other origin blocked.)"""
    for path in STATIC.iterdir():
        if path.is_dir():
            continue
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"https?://[^\s\"'`)]+", text):
            assert url == "http://www.w3.org/2000/svg", (path.name, url)


def test_only_get_and_head_and_no_missing_file_is_a_page(client: TestClient) -> None:
    assert client.head("/").status_code == 200
    assert client.post("/", content=b"x").status_code == 405
    assert client.get("/static/nothing.js").status_code == 404


def test_graphql_is_untouched_by_the_page(client: TestClient) -> None:
    """The page's CSP is not sent with API answers (JSON, not markup), and an API answer is
    cached as before."""
    body = {"query": "{ fiscalYears { year } }"}
    first = client.post("/graphql", json=body)
    again = client.post("/graphql", json=body)
    assert "content-security-policy" not in first.headers
    assert again.headers.get("x-cache") == "hit"
    assert again.content == first.content
    assert client.get("/").headers.get("x-cache") is None
