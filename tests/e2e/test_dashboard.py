"""The front page and the dashboard in a real headless Chromium, against a real LRS seeded
with known statements (`dashboard_data`, figures counted by hand there; issue 14): log in,
read the rendered numbers and suppressed cells, change filters without a reload, download
the CSV, work with JavaScript off, log out. Screenshots land in `tests/artifacts/`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import screenshot
from tests.e2e.conftest import LiveLrs, start_lrs
from tests.e2e.dashboard_data import COURSE, REGION, seed

WINDOW = "since=2026-01-05&until=2026-01-18&interval=week"


@pytest.fixture(scope="module")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLrs]:
    directory = tmp_path_factory.mktemp("dashboard-lrs")
    for live in start_lrs(directory, LRS_MIN_GROUP_SIZE="3", LRS_DIMENSIONS=f"region={REGION}"):
        seed(live)
        yield live


@pytest.fixture(scope="module")
def reports_credential(lrs: LiveLrs) -> tuple[str, str]:
    return lrs.credential("reports")


def url(lrs: LiveLrs, path: str) -> str:
    return f"http://127.0.0.1:{lrs.port}{path}"


def log_in(page, lrs: LiveLrs, key: str, secret: str) -> None:
    page.goto(url(lrs, "/dashboard/"))
    page.fill("input[name=key]", key)
    page.fill("input[name=secret]", secret)
    page.click("form.login button[type=submit]")


def table(page, name: str) -> list[list[str]]:
    """The rows of a table as shown: row header then cells."""
    return page.eval_on_selector_all(
        f"#table-{name} tbody tr",
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))",
    )


def test_the_front_page_points_a_person_to_the_endpoint_and_the_dashboard(page, lrs):
    answer = page.goto(url(lrs, "/"))
    assert answer.status == 200
    assert lrs.endpoint in page.inner_text("main")
    assert page.locator("a[href='/privacy/default']").count() == 1
    screenshot(page, "front")
    page.click("text=open the dashboard")
    assert page.url.endswith("/dashboard/login")


def test_the_dashboard_shows_the_seeded_figures_and_suppresses_small_groups(
    page, lrs, reports_credential
):
    log_in(page, lrs, *reports_credential)
    assert page.url.endswith("/dashboard/")
    page.goto(url(lrs, f"/dashboard/?{WINDOW}"))
    assert "fewer than 3 learners" in page.inner_text("#reports")
    # Active, new, records, completions per week (course completions only in week 2).
    assert table(page, "activity") == [
        ["Jan 5, 2026", "6", "6", "11", "0"],
        ["Jan 12, 2026", "3", "0", "9", "3"],
    ]
    # No dimension chosen: by course, which has every learner.
    assert table(page, "groups") == [
        ["Jan 5, 2026", "Reading for all", "6", "0%", "70%"],
        ["Jan 12, 2026", "Reading for all", "3", "100%", "90%"],
    ]
    assert page.locator("svg.chart").count() == 3  # activity; rate and score by group
    assert "Choose a course" in page.inner_text("#reports")

    # A filter changes the view in place: the page is not loaded again.
    page.evaluate("window.notReloaded = true")
    page.select_option("select[name=dimension]", "region")
    page.locator("#table-groups", has_text="north").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert "dimension=region" in page.url
    # Week 1: two southerners (< k) are suppressed, and so are the northerners, whose count
    # would give the south's away from the published total of six; never shown as 0.
    rows = table(page, "groups")
    assert rows == [
        ["Jan 5, 2026", "north", "suppressed", "suppressed", "75%"],
        ["Jan 5, 2026", "south", "suppressed", "suppressed", "suppressed"],
        ["Jan 12, 2026", "north", "3", "100%", "90%"],
    ]
    suppressed = page.locator("#table-groups td[data-suppressed=true]")
    assert suppressed.count() == 5
    # Suppressed values are gaps in the lines: the rate only for week 2 of the north, the
    # score for both weeks of the north.
    assert page.locator("svg.chart").nth(1).inner_html().count("<circle") == 1
    assert page.locator("svg.chart").nth(2).inner_html().count("<circle") == 2

    page.select_option("select[name=course]", COURSE)
    page.wait_for_selector("#table-modules")
    assert table(page, "modules") == [
        ["Letters", "6", "5", "0", "70%", "-"],
        ["Words", "3", "0", "3", "90%", "-"],
    ]
    screenshot(page, "dashboard")


def test_the_csv_download_holds_what_is_on_screen(page, lrs, reports_credential):
    log_in(page, lrs, *reports_credential)
    page.goto(url(lrs, f"/dashboard/?{WINDOW}&dimension=region"))
    with page.expect_download() as download:
        page.click("#reports a.download >> nth=1")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["period"], r["region"], r["active"], r["suppressed"]) for r in rows] == [
        ("2026-01-05", "north", "", "active;new;statements;completion_rate"),
        ("2026-01-05", "south", "", "active;new;statements;completion_rate;average_score"),
        ("2026-01-12", "north", "3", ""),
    ]
    assert rows[0]["average_score"] == "0.75"
    assert "@school.example" not in text and "North1" not in text


def test_the_tables_work_with_javascript_off(browser, lrs, reports_credential):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, lrs, *reports_credential)
        page.goto(url(lrs, f"/dashboard/?{WINDOW}"))
        page.select_option("select[name=course]", COURSE)
        page.click("form.filters button[type=submit]")
        assert f"course={COURSE.replace(':', '%3A').replace('/', '%2F')}" in page.url
        assert table(page, "modules")[0][:4] == ["Letters", "6", "5", "0"]
    finally:
        context.close()


def test_a_wrong_filter_is_explained_and_the_page_still_works(page, lrs, reports_credential):
    log_in(page, lrs, *reports_credential)
    answer = page.goto(url(lrs, "/dashboard/?since=yesterday&dimension=shoe_size"))
    assert answer.status == 400
    errors = page.inner_text("#filter-errors")
    assert "YYYY-MM-DD" in errors and "shoe_size" in errors
    assert page.locator("#reports").count() == 1


def test_the_first_load_is_small_and_fits_a_phone(browser, lrs, reports_credential):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body()) if r.ok else 0))
    try:
        log_in(page, lrs, *reports_credential)
        sizes.clear()
        page.goto(url(lrs, f"/dashboard/?{WINDOW}&course={COURSE}&dimension=region"))
        page.wait_for_load_state("networkidle")
        hosts = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert all(h.startswith(url(lrs, "/")) for h in hosts)  # nothing from elsewhere
        assert 0 < sum(sizes) < 300_000
        print(f"\ndashboard first load: {sum(sizes)} bytes in {len(sizes)} responses")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        screenshot(page, "dashboard-phone")
    finally:
        context.close()


def test_a_wrong_secret_is_refused_and_logout_closes_the_dashboard(page, lrs, reports_credential):
    key, secret = reports_credential
    log_in(page, lrs, key, secret + "x")
    assert "do not open the dashboard" in page.inner_text("main")
    log_in(page, lrs, key, secret)
    assert page.url.endswith("/dashboard/")
    page.click("text=Log out")
    assert page.url.endswith("/dashboard/login")
    page.goto(url(lrs, f"/dashboard/?{WINDOW}"))
    assert page.url.endswith("/dashboard/login")
    answer = page.goto(url(lrs, "/dashboard/download/activity.csv"))
    assert page.url.endswith("/dashboard/login") and answer.status == 200
