"""The link every export row carries (#18 point 2) opens its measure on the search page, in
headless Chromium against the real server over Hitachi's three years."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import expect

from tests.browser.conftest import Visit

pytestmark = pytest.mark.browser


def test_an_exported_link_opens_its_measure(three_years: int, visit: Visit) -> None:
    address = f"http://127.0.0.1:{three_years}/export.jsonl?q=%E5%B8%82%E6%B0%91&limit=2"
    with urllib.request.urlopen(address, timeout=30) as answer:
        rows = [json.loads(line) for line in answer.read().decode().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert row["url"].startswith(f"http://127.0.0.1:{three_years}/#/measure/")
        visit.page.goto(row["url"])
        expect(visit.page.locator("#measure-heading")).to_contain_text(row["title"])
    visit.assert_clean()
