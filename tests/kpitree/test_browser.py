"""The diagnosis pages in headless Chromium, as an operator uses them.

Signs in as the demo operator, opens the overview, a store's diagnosis and
its customers, drills into tree nodes and switches to Chinese; fails on any
console error, any uncaught exception, a chart plotly did not draw, or a
request to a host other than ours. With KPI_SCREENSHOTS=<dir> (``make
screenshots``) it also saves the pages as PNGs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

STORE = "west-lake-tea"
OPERATOR, PASSWORD = "operator", "demo-pass-2025"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db: None) -> None:
    # Data up to yesterday, so "this month" always has days in it.
    end = timezone.localdate() - timedelta(days=1)
    call_command("seed_demo", scale=0.05, end=end.isoformat(), stdout=open(os.devnull, "w"))  # noqa: SIM115


class Watched:
    """A page with its console errors, uncaught exceptions and foreign requests recorded."""

    def __init__(self, page, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self._request)

    def _request(self, request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if f"{url.scheme}://{url.netloc}" != self.origin:
            self.foreign.append(request.url)

    def assert_clean(self) -> None:
        assert self.errors == [], f"JavaScript errors: {self.errors}"
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"

    def assert_drawn(self, *chart_ids: str) -> None:
        for chart_id in chart_ids:
            self.page.wait_for_selector(f"#{chart_id} .main-svg", timeout=10_000)


def _shoot(page, name: str) -> None:
    folder = os.environ.get("KPI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_operator_journey(chromium, live_server, demo) -> None:
    context = chromium.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")
    page = context.new_page()
    watched = Watched(page, live_server.url)

    # Sign in; the overview is the home page.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", OPERATOR)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#store-list")
    rows = page.locator("#store-list tbody tr[data-store]")
    assert rows.count() == 3  # the demo operator is a member of three of the five stores
    assert page.locator('tr[data-store="puer-garden"]').count() == 0
    assert page.locator(f'tr[data-store="{STORE}"] .chip').count() == 7
    watched.assert_drawn(f"spark-{STORE}")
    _shoot(page, "store_list.png")

    # The store's diagnosis: tree, waterfall, trends, channel mix.
    page.click(f'tr[data-store="{STORE}"] a')
    page.wait_for_selector("#tree-funnel")
    watched.assert_drawn("tree-funnel", "tree-customer", "waterfall", "trend-sales",
                         "trend-visitors", "channel-mix")
    assert page.locator("#scorecard tbody tr").count() >= 7

    # Drill into the root of the funnel tree by clicking its marker in the SVG.
    root = page.locator("#tree-funnel .scatterlayer .trace").nth(1).locator("path.point").first
    box = root.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('#node-panel .node-detail[data-node="sales"]', timeout=10_000)
    for child in ("visitors", "conversion", "frequency", "order_value"):
        assert page.locator(f'#node-panel tr[data-child="{child}"]').count() == 1
    watched.assert_drawn("node-trend-funnel-sales")

    # And one level further, from the panel itself.
    page.click('#node-panel tr[data-child="visitors"] button')
    page.wait_for_selector('#node-panel .node-detail[data-node="visitors"]', timeout=10_000)
    assert page.locator('#node-panel tr[data-child="visitors_search"]').count() == 1
    watched.assert_drawn("node-trend-funnel-visitors")
    page.locator("#tree-funnel").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    _shoot(page, "diagnosis.png")

    # Switch to Chinese: the same page, now in Chinese, charts still drawn.
    page.click('button[data-lang="zh-hans"]')
    page.wait_for_selector('html[lang="zh-hans"]')
    watched.assert_drawn("tree-funnel", "waterfall")
    heading = page.locator("#scorecard h2").inner_text()
    assert heading == "七环节计分卡"
    assert "销售额" in page.locator("#headline").inner_text()

    # Customers, still in Chinese.
    page.click(".storenav a[href$='/customers/']")
    page.wait_for_selector("#lifecycle")
    watched.assert_drawn("lifecycle-counts", "rfm-grid", "cohorts")

    # Back to English for the next visitor of this session.
    page.click('button[data-lang="en"]')
    page.wait_for_selector('html[lang="en"]')
    watched.assert_clean()
    context.close()
