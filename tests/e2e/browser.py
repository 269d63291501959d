"""A real headless Chromium for the browser tests: Debian's `chromium` driven by Playwright
(Playwright's own browser download cannot run offline; `.ci/run` installs the Debian one).
When no Chromium can be started the tests are skipped and the reason printed, never silently.
Screenshots go to `tests/artifacts/` (the README shows one of them)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = [
    # as root Chromium refuses its sandbox; the rest keep it off this machine's closed network
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    for name in (os.environ.get("LRS_TEST_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


def _skip(reason: str) -> None:
    print(f"\nbrowser tests skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    path = chromium_path()
    if path is None:
        _skip("no chromium on PATH (Debian package `chromium`; .ci/run installs it)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        _skip(f"playwright is not installed ({exc})")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=path, args=FLAGS)
        except Error as exc:
            _skip(f"chromium at {path} did not start: {exc}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, at a laptop's size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as `tests/artifacts/<name>.png`."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
