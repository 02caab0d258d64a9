"""Fixtures for the browser tests: the real server in a thread, and headless Chromium.

Without Playwright (the dev extra) or a chromium executable these tests skip, saying why; with PLAN_ARCHIVE_TEST_BROWSER
set (CI sets it) a missing browser is a failure instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from server.settings import Settings
from tests.conftest import serving

if TYPE_CHECKING:  # at run time Playwright is imported by the fixtures, which skip without it
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Error,
        Page,
        Playwright,
        Request,
        Response,
    )

BROWSER_ENV = "PLAN_ARCHIVE_TEST_BROWSER"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The chromium to drive: $PLAN_ARCHIVE_TEST_BROWSER (must exist), else one on PATH."""
    required = os.environ.get(BROWSER_ENV, "")
    if required:
        if not (Path(required).is_file() and os.access(required, os.X_OK)):
            pytest.fail(f"{BROWSER_ENV}={required} is not an executable file", pytrace=False)
        return required
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "no chromium executable found (apt-get install chromium); set "
            f"{BROWSER_ENV}=/usr/bin/chromium to make a missing browser a failure"
        )
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="session")
def three_years(three_years_archive: Settings, chromium: str) -> Iterator[int]:
    """A server over three years of the Hitachi report (FY2019-2021), so measures have a
    history and their figures a series of several points. Yields the port."""
    with serving(three_years_archive) as port:
        yield port


# Module scope, not session: Playwright's sync API runs an event loop in the main thread
# while it is open, and tests after it that call asyncio.run() would find it running.
@pytest.fixture(scope="module")
def playwright_session(chromium: str) -> Iterator[Playwright]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is in the dev extra: pip install -e '.[dev]'"
    )
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright, chromium: str) -> Iterator[Browser]:
    launched = playwright_session.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Visit:
    """A fresh browser page, and what went wrong on it: console errors, uncaught exceptions,
    requests that failed or were answered with an HTTP error."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.problems == []


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(15_000)
    found = Visit(page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.problems.append(f"console: {message.text}")

    def failed(request: Request) -> None:
        found.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def refused(response: Response) -> None:
        if response.status >= 400:
            found.problems.append(f"HTTP {response.status}: {response.url}")

    def uncaught(error: Error) -> None:
        found.problems.append(f"page error: {error}")

    page.on("console", console)
    page.on("pageerror", uncaught)
    page.on("requestfailed", failed)
    page.on("response", refused)
    yield found
    context.close()
