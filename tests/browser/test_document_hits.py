"""#16 point 5 on the search page: documents archived without structure that match are
listed apart, below the measures, with their highlights (headless Chromium, real server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("playwright", reason="Playwright is in the dev extra: pip install -e '.[dev]'")
from playwright.sync_api import expect

from tests.browser.conftest import Visit
from tests.conftest import SAMPLE, archive_of, serving
from tests.schema.test_document_search import _notices

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notices_server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("notices-page")
    settings = archive_of(folder / "data", [SAMPLE, *_notices(folder / "notices")])
    with serving(settings) as port:
        yield port


def test_documents_are_listed_apart(notices_server: int, visit: Visit) -> None:
    page = visit.page
    page.goto(f"http://127.0.0.1:{notices_server}/#/search?q=オオムラサキ")
    expect(page.locator("#status")).to_contain_text("一致する施策はありません")
    section = page.locator("#document-results")
    expect(section).to_be_visible()
    expect(page.locator("#documents-count")).to_have_text("2件")
    items = page.locator("#document-hits li")
    expect(items).to_have_count(2)
    expect(items.locator("h4")).to_have_text(["日立市 お知らせ", "水戸市 お知らせ"])
    expect(items.locator("mark").first).to_have_text("オオムラサキ")
    expect(items.first.locator(".field-name").first).to_have_text("本文")

    # A year filter applies to them; a department filter leaves none (they have none).
    page.goto(f"http://127.0.0.1:{notices_server}/#/search?q=オオムラサキ&year=2020")
    expect(items).to_have_count(1)
    expect(items.locator("h4")).to_have_text(["水戸市 お知らせ"])
    page.goto(f"http://127.0.0.1:{notices_server}/#/search?q=市民")
    expect(page.locator("#hits li").first).to_be_visible()
    expect(section).to_be_hidden()
    visit.assert_clean()
