"""The manager's targets flow in headless Chromium: allocate a sales target,
adjust one metric, rebalance, save, and see attainment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from kpitree.engine import FUNNEL_TREE, identity_errors
from kpitree.models import Target
from kpitree.periods import store_today
from stores.models import Store
from stores.rollups.refresh import rollups_refresh
from tests.factories import PASSWORD, OrderFactory, TrafficDailyFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def recent_sales(store: Store) -> None:
    today = store_today(store)
    for i in range(1, 41):
        day = today - dt.timedelta(days=i)
        for n in range(2):
            OrderFactory(store=store, amount=Decimal(90 + 10 * n + i % 7), items=1 + n,
                         placed_at=dt.datetime.combine(day, dt.time(12), tzinfo=store.tzinfo))
        TrafficDailyFactory(store=store, date=day, channel="search", visitors=50 + i % 5)
    rollups_refresh(store=store)


def test_manager_allocates_adjusts_saves_and_sees_attainment(
    chromium, live_server, store: Store, manager: User, recent_sales: None  # type: ignore[no-untyped-def]
) -> None:
    page = chromium.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda msg: errors.extend([msg.text] if msg.type == "error" else []))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.goto(f"{live_server.url}/stores/{store.slug}/targets/allocate/")

    page.fill("#id_sales_target", "60000")
    page.select_option("#id_rule", "equal")
    page.click("#propose")
    page.wait_for_selector("#allocation")
    assert page.input_value("input[name=node_sales]") == "60000.0"

    # Editing a node ticks its keep box (targets.js); rebalancing keeps it.
    page.fill("input[name=node_payment_rate]", "0.95")
    assert page.is_checked("input[name=fix_payment_rate]")
    page.click("#rebalance")
    page.wait_for_selector("#allocation")
    assert float(page.input_value("input[name=node_payment_rate]")) == 0.95
    assert page.is_checked("input[name=fix_payment_rate]")

    page.click("#save")
    page.wait_for_url(f"**/stores/{store.slug}/targets/")
    saved = {t.metric: float(t.value) for t in Target.objects.filter(store=store)}
    assert saved["sales"] == 60000 and saved["payment_rate"] == 0.95
    assert identity_errors(FUNNEL_TREE, saved, rel_tol=1e-6) == []

    sales_row = page.locator("#attainment tr[data-metric=sales]")
    assert sales_row.count() == 1
    status = sales_row.get_attribute("data-status")
    if store_today(store).day > 1:  # on the 1st nothing of the month has elapsed yet
        assert status in ("green", "amber", "red")
    assert page.locator("#history tr[data-metric=payment_rate]").count() == 1
    assert errors == [], f"JavaScript errors: {errors}"
    page.close()
