"""The dashboard in Debian's chromium, driven by Playwright, over real HTTP on 127.0.0.1.

Checks what is plotted (plotly's data on the chart divs), not only that divs exist. Screenshots
go to test-artifacts/ (look at them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outagewatch.serve import create_app
from test_serve_support import EVENTS, KP_PREFIXES, build_store, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
KP_OUTAGE = str(EVENTS[0]["event_id"])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_store(tmp_path_factory.mktemp("dash") / "kp.duckdb")
    with running_server(create_app(db)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A page plus the console errors and off-host requests it produced."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.base = base
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: None if r.url.startswith(base) else self.foreign.append(r.url))

    def open(self, path: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready]", timeout=30_000)
        assert self.page.evaluate("document.body.dataset.ready") == "1", self.page.inner_text("main")
        return self.page

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.foreign, f"requests left the server (CDN?): {self.foreign}"


@pytest.fixture
def tab(browser: Any, base: str) -> Iterator[Page]:
    page = Page(browser, base)
    yield page
    page.page.close()


def _trace(page: Any, div: str, metric: str) -> dict[str, list[Any]]:
    return dict(
        page.evaluate(
            "([div, metric]) => { const t = document.getElementById(div).data.find((d) => d.meta === metric);"
            " return t ? { x: Array.from(t.x), y: Array.from(t.y) } : null; }",
            [div, metric],
        )
    )


def _naive(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


def test_overview_lists_kp_in_outage_at_18utc(tab: Page) -> None:
    page = tab.open("/?at=2014-12-22T18:00:00Z")
    first = page.locator("#countries tbody tr").first
    assert first.get_attribute("data-entity") == "KP"
    assert first.get_attribute("data-status") == "outage"
    assert first.locator(".badge").inner_text().lower() == "outage"
    assert page.locator('#countries tr[data-entity="CN"]').get_attribute("data-status") == "normal"
    spark = page.evaluate("document.querySelector('#countries tbody tr .spark').data[0].y.slice(-1)[0]")
    assert spark == 0
    assert page.locator(f'#active-events tr[data-event="{KP_OUTAGE}"]').count() == 1
    assert page.input_value("#at") == "2014-12-22T18:00"
    tab.shot("overview-2014-12-22T1800")
    tab.clean()


def test_overview_default_time_and_at_picker(tab: Page) -> None:
    page = tab.open("/")
    assert page.locator("#countries tbody tr").first.get_attribute("data-entity") == "SY"
    assert page.locator('#countries tr[data-entity="KP"]').get_attribute("data-status") == "normal"
    recent = page.locator(f'#recent-events tr[data-event="{KP_OUTAGE}"]')  # ended 01:45
    assert recent.locator("a", has_text="view then").get_attribute("href") == "/?at=2014-12-22T21:00:00Z"
    page.fill("#at", "2014-12-22T20:30")
    page.click("#at-apply")
    page.wait_for_url("**/?at=2014-12-22T20%3A30%3A00Z")
    page.wait_for_selector("body[data-ready]")
    assert page.locator('#countries tr[data-entity="KP"]').get_attribute("data-status") == "outage"
    tab.clean()


def test_kp_page_plots_drop_at_1615_and_recovery_at_0146(tab: Page) -> None:
    page = tab.open("/entity/country/KP")
    trace = _trace(page, "chart-visibility", "ipv4.visible_slash24.ff_50pct")
    points = list(zip(trace["x"], trace["y"], strict=True))
    drop = next(i for i, (_, y) in enumerate(points) if y == 0)
    assert points[drop - 1][1] == 4 and _naive(points[drop][0]) == datetime(2014, 12, 22, 16, 15)
    back = next(i for i in range(drop, len(points)) if points[i][1] > 0)
    recovery = _naive(points[back][0])
    assert recovery <= datetime(2014, 12, 23, 1, 46) < recovery + timedelta(minutes=5)
    assert points[back][1] == 4
    shapes = page.evaluate(
        "document.getElementById('chart-visibility').layout.shapes.map((s) => [s.x0, s.x1])"
    )
    assert ["2014-12-22T16:15:00", "2014-12-23T01:45:00"] in shapes  # the outage shaded on the timeline
    for div in ("chart-prefixes", "chart-churn", "chart-upstreams"):
        assert page.evaluate(f"document.getElementById('{div}').data.length") > 0, div
    assert page.locator("#links a", has_text="AS131279").count() == 1
    assert page.locator("#links a", has_text="175.45.178.0/24").count() == 1
    tab.shot("entity-KP")
    tab.clean()


def test_links_from_country_to_as_to_prefix(tab: Page) -> None:
    page = tab.open("/entity/country/KP")
    page.locator("#links a", has_text="AS131279").click()
    page.wait_for_url("**/entity/as/131279")
    page.wait_for_selector("body[data-ready]")
    assert "STAR-KP" in page.inner_text("#title")
    page.locator("#links a", has_text=KP_PREFIXES[0]).click()
    page.wait_for_url(f"**/entity/prefix/{KP_PREFIXES[0]}")
    page.wait_for_selector("body[data-ready]")
    trace = _trace(page, "chart-visibility", "ipv4.visible_slash24.ff_50pct")
    assert min(trace["y"]) == 0 and max(trace["y"]) == 1
    assert page.locator("#links a", has_text="KP").count() == 1
    tab.shot("entity-prefix")
    tab.clean()


def test_time_range_picker_narrows_the_charts(tab: Page) -> None:
    page = tab.open("/entity/country/KP")
    before = len(_trace(page, "chart-visibility", "ipv4.visible_slash24.ff_50pct")["x"])
    page.fill("#start", "2014-12-22T12:00")
    page.fill("#end", "2014-12-22T20:00")
    page.click("#apply")
    page.wait_for_url("**start=2014-12-22T12%3A00%3A00Z**")
    page.wait_for_selector("body[data-ready]")
    trace = _trace(page, "chart-visibility", "ipv4.visible_slash24.ff_50pct")
    assert len(trace["x"]) == 8 * 12 < before
    assert trace["x"][0] == "2014-12-22T12:00:00" and trace["x"][-1] == "2014-12-22T19:55:00"
    tab.clean()


def test_event_page_shows_report_times_prefixes_and_chart(tab: Page) -> None:
    page = tab.open(f"/event/{KP_OUTAGE}")
    report = page.inner_text("#report")
    assert "North Korea" in report and "16:15" in report and "01:45" in report
    assert page.inner_text('[data-fact="start"]') == "2014-12-22 16:15 UTC"
    assert page.inner_text('[data-fact="end"]') == "2014-12-23 01:45 UTC"
    assert page.inner_text('[data-fact="duration"]') == "9 h 30 min"
    assert page.locator("#prefixes li").all_inner_texts() == KP_PREFIXES
    trace = _trace(page, "chart-event", "ipv4.visible_slash24.ff_50pct")
    assert 0 in trace["y"] and 4 in trace["y"]
    tab.shot("event-KP-outage")
    tab.clean()


def test_unknown_entity_page_says_so(tab: Page) -> None:
    tab.page.goto(tab.base + "/entity/country/QQ")
    tab.page.wait_for_selector("body[data-ready]")
    assert "unknown entity country/QQ" in tab.page.inner_text("main")


def test_readme_screenshot(browser: Any, base: str) -> None:
    """The KP page at a screen's height, for the README (copied to docs/img/ by hand when it changes)."""
    page = Page(browser, base)
    page.open("/entity/country/KP")
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    page.page.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 20_000
