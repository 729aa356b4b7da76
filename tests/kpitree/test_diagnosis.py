"""Diagnosis against each base, the exact decomposition, and the scorecard."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from kpitree.models import Target
from kpitree.periods import Period
from kpitree.selectors import diagnosis_get, store_overview
from stores.models import Customer, Order, Store, TrafficDaily
from stores.rollups import rollups_refresh
from tests.kpitree.builders import buy, make_store, visit

pytestmark = pytest.mark.django_db
APRIL = Period(date(2025, 4, 1), date(2025, 4, 30))
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
CHANNELS = ("search", "cps", "community", "ads", "activity", "other")


def generate(store: Store, seed: int, start: date, days: int, orders: int = 400) -> None:
    rng = np.random.default_rng(seed)
    customers = [Customer.objects.create(store=store, external_id=f"g{seed}-{n}") for n in range(60)]
    rows = []
    for n in range(orders):
        day = start + timedelta(days=int(rng.integers(0, days)))
        placed = datetime(day.year, day.month, day.day, int(rng.integers(1, 14)), tzinfo=UTC)
        paid = rng.random() < 0.85
        guest = rng.random() < 0.1
        rows.append(Order(
            store=store, external_id=f"g{seed}-o{n}",
            customer=None if guest else customers[int(60 * rng.random() ** 2)],
            placed_at=placed, paid_at=placed if paid else None,
            status="paid" if paid else "unpaid",
            amount=Decimal(int(rng.integers(1000, 30000))) / 100,
            items=int(rng.integers(1, 5)), channel="search", inquired=bool(rng.random() < 0.3),
        ))
    Order.objects.bulk_create(rows)
    TrafficDaily.objects.bulk_create([
        TrafficDaily(store=store, date=start + timedelta(days=n), channel=c,
                     visitors=int(rng.integers(50, 150)), inquirers=int(rng.integers(10, 20)))
        for n in range(days) for c in CHANNELS
    ])
    rollups_refresh(store=store, since=None)


@pytest.fixture
def busy_store(db: None) -> Store:
    store = make_store(slug="busy", nurture_window_days=20, churn_window_days=45)
    generate(store, 1, date(2025, 1, 1), 120)
    return store


@pytest.mark.parametrize("period", [APRIL, Period(date(2025, 4, 3), date(2025, 4, 26))])
def test_contributions_add_up_to_the_change_in_both_trees(busy_store, period):
    diagnosis = diagnosis_get(store=busy_store, period=period, base="previous")
    assert diagnosis.base_available
    assert diagnosis.base_sales is not None and diagnosis.sales != diagnosis.base_sales
    for tree in diagnosis.trees.values():
        assert tree.identity_ok, tree.key
        assert tree.total_change == pytest.approx(diagnosis.sales - diagnosis.base_sales)
        leaves = [n.contribution for n in tree.nodes if n.is_leaf_of_decomposition]
        assert all(c is not None for c in leaves)
        assert math.fsum(leaves) == pytest.approx(tree.total_change, rel=1e-9, abs=1e-6)
        assert tree.contributions_sum == pytest.approx(tree.total_change, rel=1e-9, abs=1e-6)
        root = tree.nodes[0]
        assert root.key == "sales" and root.depth == 0 and root.parent is None


def test_previous_and_last_year_bases_are_their_periods(busy_store):
    march = diagnosis_get(store=busy_store, period=MARCH, base="previous")
    april = diagnosis_get(store=busy_store, period=APRIL, base="previous")
    assert april.base_period == MARCH and april.base_sales == march.sales
    buy(busy_store, "old", date(2024, 4, 10), "123.45")
    rollups_refresh(store=busy_store, since=date(2024, 4, 10))
    last_year = diagnosis_get(store=busy_store, period=APRIL, base="last_year")
    assert last_year.base_period == Period(date(2024, 4, 1), date(2024, 4, 30))
    assert last_year.base_sales == pytest.approx(123.45)
    assert last_year.base_available


def test_target_base_absent_without_targets_and_used_when_set(busy_store, manager):
    without = diagnosis_get(store=busy_store, period=APRIL, base="target")
    assert not without.base_available and "no targets" in without.base_note
    assert all(row.base_value is None for row in without.trees["funnel"].nodes)
    Target.objects.create(store=busy_store, department="promotion", metric="sales",
                          period_start=APRIL.start, period_end=APRIL.end, value=Decimal("1000"))
    with_target = diagnosis_get(store=busy_store, period=APRIL, base="target")
    assert with_target.base_available and with_target.base_sales == 1000.0
    funnel = with_target.trees["funnel"]
    assert funnel.nodes[0].change == pytest.approx(with_target.sales - 1000.0)
    # A target on sales alone puts the whole gap on sales: nothing is invented below it.
    assert funnel.contributions_sum == pytest.approx(with_target.sales - 1000.0)


def test_peers_need_three_stores_with_orders(busy_store):
    for n, amount in enumerate(("100", "200")):
        peer = make_store(slug=f"peer{n}", category=busy_store.category)
        buy(peer, "p", date(2025, 4, 2), amount)
        visit(peer, date(2025, 4, 2), "search", 100)
        rollups_refresh(store=peer, since=None)
    two = diagnosis_get(store=busy_store, period=APRIL, base="peers")
    assert not two.base_available and "at least 3" in two.base_note
    peer = make_store(slug="peer2", category=busy_store.category)
    buy(peer, "p", date(2025, 4, 2), "300")
    visit(peer, date(2025, 4, 2), "search", 100)
    rollups_refresh(store=peer, since=None)
    make_store(slug="other-trade", category="shoes")  # not a peer
    three = diagnosis_get(store=busy_store, period=APRIL, base="peers")
    assert three.base_available
    rows = {r.key: r for r in three.trees["funnel"].nodes}
    # Medians leaf by leaf: item price 100/200/300 -> 200; one buyer per 100 visitors.
    assert rows["item_price"].base_value == pytest.approx(200.0)
    assert rows["conversion"].base_value == pytest.approx(0.01)
    assert three.base_sales == pytest.approx(100 * 0.01 * 1 * 200.0)
    assert three.trees["funnel"].identity_ok


def test_weak_payment_is_the_shortest_stave(db):
    store = make_store(slug="unpaid")
    for n in range(20):
        # March: everyone pays; April: the same shoppers, but only 5 of 20 pay.
        buy(store, f"m{n}", date(2025, 3, 5), "100")
        buy(store, f"a{n}", date(2025, 4, 5), "100", paid=n < 5)
    for month in (3, 4):
        visit(store, date(2025, month, 5), "search", 1000)
    rollups_refresh(store=store, since=None)
    diagnosis = diagnosis_get(store=store, period=APRIL, base="previous")
    stages = {s.key: s for s in diagnosis.scorecard}
    assert [s.stage for s in diagnosis.scorecard] == [1, 2, 3, 4, 5, 6, 7]
    assert diagnosis.shortest_stave == 4
    payment = stages["payment"]
    assert payment.status == "red" and payment.department == "customer_service"
    rate = next(m for m in payment.metrics if m.key == "payment_rate")
    assert (rate.value, rate.base_value) == (0.25, 1.0)
    # At March's payment rate April would have sold 20 x 100 instead of 500.
    assert rate.sales_at_stake == pytest.approx(1500.0)
    assert stages["acquisition"].sales_at_stake == 0.0 and stages["acquisition"].status == "green"
    assert "催付" in payment.actions_zh[0] and payment.actions_en
    assert stages["inquiry"].no_data  # no inquiry column in this traffic


def test_churn_is_lower_is_better_in_the_scorecard(db):
    store = make_store(slug="churny", nurture_window_days=10, churn_window_days=30)
    for n in range(4):
        buy(store, f"c{n}", date(2025, 1, 2), "10")
        buy(store, f"c{n}", date(2025, 1, 20), "10")  # active at Feb 1 and Mar 1
    for n in range(4):
        buy(store, f"c{n}", date(2025, 2, 15), "10")  # February keeps all four active
    buy(store, "c0", date(2025, 3, 10), "10")  # March: only c0 comes back in time
    rollups_refresh(store=store, since=None)
    diagnosis = diagnosis_get(store=store, period=MARCH, base="previous")
    churn = next(m for s in diagnosis.scorecard if s.key == "churn" for m in s.metrics
                 if m.key == "churn_rate")
    # Feb: of 4 active at Feb 1 (last paid Jan 20) none lapsed; March: the window ends
    # Mar 18 for c1..c3 (last paid Feb 15), so 3 of 4 churned.
    assert (churn.value, churn.base_value) == (0.75, 0.0)
    assert churn.higher_is_better is False and churn.status == "red"


def test_store_overview_is_cheap_and_consistent(busy_store, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        overview = store_overview(store=busy_store, period=APRIL, base="previous")
    full = diagnosis_get(store=busy_store, period=APRIL, base="previous")
    assert overview.sales == full.sales and overview.base_sales == full.base_sales
    assert overview.shortest_stave == full.shortest_stave
    assert sum(v for _, v in overview.daily_sales) == pytest.approx(full.sales)
    assert set(overview.stage_statuses) == set(range(1, 8))
