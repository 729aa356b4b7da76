"""Every node of both trees for a hand-built store, against numbers worked out on paper.

Windows: nurture 10 days, churn 30. March 2025, store-local (Asia/Shanghai).

  A  paid Feb 20                      -> nurtured at Mar 1; buys Mar 5 (100, 2 items)
  B  paid Jan 10, Feb 1               -> active; buys Mar 3 (50) and Mar 20 (70)
  C  paid Dec 1 2024                  -> lapsed; buys Mar 10 (200, 4 items, inquired)
  D  new                              -> buys Mar 8 (80, inquired) + an unpaid order (30)
  E  new                              -> only an unpaid order Mar 12 (40, inquired)
  guest                               -> Mar 15 (60, 2 items)
  F  paid Feb 25 only                 -> nurtured at Mar 1, no March purchase
  G  paid Jan 20 only                 -> lapsed at Mar 1
  H  paid Jan 29, Feb 3               -> active at Mar 1; lapses Mar 6 (churned)

Traffic in March: search 100 a day with 5 inquirers; cps 50 a day on the
1st-10th with no inquiry column. V = 3600, I = 155.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kpitree.engine import CUSTOMER_TREE, FUNNEL_TREE, identity_errors
from kpitree.leaves import period_data
from kpitree.periods import Period
from kpitree.selectors import tree_evaluate
from stores.models import Store
from stores.rollups import rollups_refresh
from tests.kpitree.builders import buy, make_store, visit

pytestmark = pytest.mark.django_db
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))


def d(month: int, day: int, year: int = 2025) -> date:
    return date(year, month, day)


@pytest.fixture
def paper_store(db: None) -> Store:
    store = make_store(slug="paper", timezone="Asia/Shanghai", nurture_window_days=10,
                         churn_window_days=30)
    buy(store, "C", d(12, 1, 2024), "150")
    buy(store, "B", d(1, 10), "40")
    buy(store, "G", d(1, 20), "25")
    buy(store, "H", d(1, 29), "30")
    buy(store, "B", d(2, 1), "40")
    buy(store, "H", d(2, 3), "30")
    buy(store, "A", d(2, 20), "90")
    buy(store, "F", d(2, 25), "50")
    buy(store, "B", d(3, 3), "50")
    buy(store, "A", d(3, 5), "100", 2)
    buy(store, "D", d(3, 8), "80", inquired=True)
    buy(store, "D", d(3, 8), "30", paid=False, inquired=True, hour=13)
    buy(store, "C", d(3, 10), "200", 4, inquired=True)
    buy(store, "E", d(3, 12), "40", paid=False, inquired=True)
    buy(store, None, d(3, 15), "60", 2)
    buy(store, "B", d(3, 20), "70")
    for n in range(31):
        visit(store, d(3, 1) + timedelta(days=n), "search", 100, inquirers=5)
        if n < 10:
            visit(store, d(3, 1) + timedelta(days=n), "cps", 50)
    rollups_refresh(store=store, since=None)
    return store


FUNNEL_ON_PAPER = {
    "sales": 560.0, "visitors": 3600.0, "visitors_search": 3100.0, "visitors_cps": 500.0,
    "visitors_community": 0.0, "visitors_ads": 0.0, "visitors_activity": 0.0,
    "visitors_other": 0.0, "conversion": 5 / 3600, "placing_rate": 6 / 3600,
    "browse_path": 3 / 3600, "browse_share": 3445 / 3600, "browse_conversion": 3 / 3445,
    "inquiry_path": 3 / 3600, "inquiry_rate": 155 / 3600, "inquiry_conversion": 3 / 155,
    "payment_rate": 5 / 6, "frequency": 6 / 5, "order_value": 560 / 6,
    "items_per_order": 11 / 6, "item_price": 560 / 11,
}
CUSTOMER_ON_PAPER = {
    "sales": 560.0,
    "sales_new": 140.0, "buyers_new": 2.0, "visitors": 3600.0,
    "new_buyer_conversion": 2 / 3600, "spend_per_buyer_new": 70.0, "frequency_new": 1.0,
    "order_value_new": 70.0,
    "sales_nurtured": 100.0, "buyers_nurtured": 1.0, "base_nurtured": 2.0, "rate_nurtured": 0.5,
    "spend_per_buyer_nurtured": 100.0, "frequency_nurtured": 1.0, "order_value_nurtured": 100.0,
    "sales_active": 120.0, "buyers_active": 1.0, "base_active": 2.0, "rate_active": 0.5,
    "spend_per_buyer_active": 120.0, "frequency_active": 2.0, "order_value_active": 60.0,
    "sales_won_back": 200.0, "buyers_won_back": 1.0, "base_won_back": 2.0, "rate_won_back": 0.5,
    "spend_per_buyer_won_back": 200.0, "frequency_won_back": 1.0, "order_value_won_back": 200.0,
}


def test_every_funnel_node_matches_paper(paper_store):
    values = tree_evaluate(store=paper_store, tree="funnel", period=MARCH)
    assert set(FUNNEL_ON_PAPER) == set(FUNNEL_TREE.nodes)
    for key, expected in FUNNEL_ON_PAPER.items():
        assert values[key] == pytest.approx(expected, rel=1e-12), key
    assert identity_errors(FUNNEL_TREE, values) == []


def test_every_customer_node_matches_paper(paper_store):
    values = tree_evaluate(store=paper_store, tree="customer", period=MARCH)
    assert set(CUSTOMER_ON_PAPER) == set(CUSTOMER_TREE.nodes)
    for key, expected in CUSTOMER_ON_PAPER.items():
        assert values[key] == pytest.approx(expected, rel=1e-12), key
    assert identity_errors(CUSTOMER_TREE, values) == []


def test_extras_unpaid_churn_and_sources(paper_store):
    data = period_data(store=paper_store, period=MARCH)
    assert data.exact_from == "rollups"
    assert data.inquiry_source == "orders" and data.inquiry_placers == 3
    assert (data.orders_unpaid, data.unpaid_amount) == (2, Decimal("70"))
    # Active base at Mar 1 is B and H; H lapses on Mar 6, B buys again in time.
    assert data.churned == 1 and data.churn_rate == 0.5
    assert data.win_back_rate == 0.5


def test_full_month_from_rollups_equals_the_orders_path(paper_store):
    rollups = period_data(store=paper_store, period=MARCH)
    orders = period_data(store=paper_store, period=MARCH, from_orders=True)
    assert orders.exact_from == "orders"
    assert {**rollups.__dict__, "exact_from": "orders"} == orders.__dict__


def test_custom_range_is_exact_from_the_orders(paper_store):
    period = Period(d(3, 5), d(3, 20))  # anchored on no calendar period
    data = period_data(store=paper_store, period=period)
    assert data.exact_from == "orders"
    assert (data.placers, data.buyers, data.orders, data.sales) == (6, 5, 5, Decimal("510"))
    segs = {g: (s.buyers, s.orders, s.sales) for g, s in data.segments.items()}
    # At Mar 5, A's single order is 13 days old: past the nurture window, so active.
    assert segs == {"new": (2, 2, Decimal("140")), "nurtured": (0, 0, Decimal("0")),
                    "active": (2, 2, Decimal("170")), "won_back": (1, 1, Decimal("200"))}
    assert data.bases == {"nurtured": 1, "active": 3, "won_back": 2}


def test_no_traffic_means_missing_visitors_not_zero(paper_store):
    values = tree_evaluate(store=paper_store, tree="funnel", period=Period(d(2, 1), d(2, 28)))
    assert values["sales"] == 210.0
    assert values["visitors"] is None and values["conversion"] is None
    assert values["payment_rate"] == 1.0


def test_traffic_without_inquiry_columns_leaves_stage_three_without_data(db):
    store = make_store(slug="quiet")
    buy(store, "X", d(3, 2), "10", inquired=None)
    visit(store, d(3, 2), "search", 10)
    rollups_refresh(store=store, since=None)
    data = period_data(store=store, period=MARCH)
    assert data.inquirers is None and data.inquiry_placers is None
    values = tree_evaluate(store=store, tree="funnel", period=MARCH)
    assert values["inquiry_rate"] is None and values["browse_conversion"] == pytest.approx(0.1)
