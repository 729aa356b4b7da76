"""The rollups against a brute-force oracle computed straight from the orders.

The oracle counts distinct customers and classifies them by reading every
order, the slow obvious way; the rollups must give the same numbers for
every calendar-anchored range, in any time zone, and an incremental refresh
must end exactly where a full one does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.models import Customer, CustomerBaseDaily, CustomerDaily, Order, SalesDaily
from stores.rollups import rollups_refresh
from stores.rollups.compute import period_start
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

NURTURE, CHURN = 10, 30
START = date(2024, 11, 20)


@dataclass(frozen=True)
class Row:
    key: str  # customer external id, or "guest-<n>"
    day: date
    paid: bool
    inquired: bool
    cents: int
    refund: int
    items: int


def _segment(rows: list[Row], key: str, a: date) -> str:
    before = sorted(r.day for r in rows if r.key == key and r.paid and r.day < a)
    if key.startswith("guest") or not before:
        return "new"
    last, first = before[-1], before[0]
    if (a - last).days > CHURN:
        return "won_back"
    if len(before) == 1 and (a - first).days <= NURTURE:
        return "nurtured"
    return "active"


def oracle(rows: list[Row], a: date, b: date) -> dict[str, object]:
    inside = [r for r in rows if a <= r.day <= b]
    out: dict[str, object] = {
        "placers": len({r.key for r in inside}),
        "inquiry_placers": len({r.key for r in inside if r.inquired}),
        "buyers": len({r.key for r in inside if r.paid}),
    }
    for seg in ("new", "nurtured", "active", "won_back"):
        paid = [r for r in inside if r.paid and _segment(rows, r.key, a) == seg]
        out[f"buyers_{seg}"] = len({r.key for r in paid})
        out[f"sales_{seg}"] = sum(r.cents - r.refund for r in paid)
        out[f"orders_{seg}"] = len(paid)
    known = {r.key for r in rows if not r.key.startswith("guest") and r.paid and r.day < a}
    for seg in ("nurtured", "active", "won_back"):
        out[f"base_{seg}"] = sum(1 for k in known if _segment(rows, k, a) == seg)
    return out


def rollup(store, grain: str, a: date, b: date) -> dict[str, object]:
    rows = CustomerDaily.objects.filter(store=store, grain=grain, date__gte=a, date__lte=b)
    out: dict[str, object] = {
        "placers": sum(r.placers for r in rows),
        "inquiry_placers": sum(r.inquiry_placers for r in rows),
        "buyers": sum(r.buyers for r in rows),
    }
    for seg in ("new", "nurtured", "active", "won_back"):
        mine = [r for r in rows if r.segment == seg]
        out[f"buyers_{seg}"] = sum(r.buyers for r in mine)
        out[f"sales_{seg}"] = int(sum((r.sales for r in mine), Decimal(0)) * 100)
        out[f"orders_{seg}"] = sum(r.orders_paid for r in mine)
    base = CustomerBaseDaily.objects.filter(store=store, date=a).first()
    for seg, field in (("nurtured", "nurtured"), ("active", "active"), ("won_back", "lapsed")):
        out[f"base_{seg}"] = getattr(base, field) if base else 0
    return out


def write(store, rows: list[Row], tz: ZoneInfo, hours: list[int], prefix: str = "o") -> None:
    for n, (row, hour) in enumerate(zip(rows, itertools.cycle(hours), strict=False)):
        customer = None
        if not row.key.startswith("guest"):
            customer, _ = Customer.objects.get_or_create(store=store, external_id=row.key)
        placed = datetime.combine(row.day, time(hour, 30), tzinfo=tz)
        Order.objects.create(
            store=store, external_id=f"{prefix}{n}-{row.key}", customer=customer,
            placed_at=placed, paid_at=placed if row.paid else None,
            status=("refunded" if row.refund else "paid") if row.paid else "unpaid",
            amount=Decimal(row.cents) / 100, refunded_amount=Decimal(row.refund) / 100,
            items=row.items, channel="search", inquired=row.inquired,
        )


rows_strategy = st.lists(
    st.builds(
        Row,
        key=st.sampled_from(["c1", "c2", "c3", "c4", "guest-1", "guest-2"]),
        day=st.integers(0, 420).map(lambda n: START + timedelta(days=n)),
        paid=st.booleans(),
        inquired=st.booleans(),
        cents=st.integers(100, 50_000),
        refund=st.sampled_from([0, 0, 0, 50]),
        items=st.integers(1, 4),
    ),
    min_size=1,
    max_size=40,
).map(lambda rows: [
    # A guest is one order; refunds only on paid orders.
    Row(f"{r.key}-{i}" if r.key.startswith("guest") else r.key, r.day, r.paid, r.inquired,
        r.cents, r.refund if r.paid else 0, r.items)
    for i, r in enumerate(rows)
])


def _anchored_ranges(rows: list[Row]):
    days = sorted({r.day for r in rows})
    probes = [days[0], days[len(days) // 2], days[-1], days[-1] + timedelta(days=40)]
    for grain, probe in itertools.product(("day", "week", "month", "quarter", "year"), probes):
        n = (probe - date(1970, 1, 1)).days
        a = date(1970, 1, 1) + timedelta(days=int(period_start(np.array([n]), grain)[0]))
        yield grain, a, probe


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, tz=st.sampled_from(["Asia/Shanghai", "America/Los_Angeles"]),
       hours=st.lists(st.integers(0, 23), min_size=1, max_size=5))
def test_rollups_match_the_oracle_for_every_anchored_range(rows, tz, hours):
    store = StoreFactory(timezone=tz, nurture_window_days=NURTURE, churn_window_days=CHURN)
    write(store, rows, ZoneInfo(tz), hours)
    rollups_refresh(store=store)
    for grain, a, b in _anchored_ranges(rows):
        assert rollup(store, grain, a, b) == oracle(rows, a, b), (grain, a, b)


def _lapses_oracle(rows: list[Row], day: date) -> int:
    count = 0
    for key in {r.key for r in rows if not r.key.startswith("guest")}:
        paid_days = sorted({r.day for r in rows if r.key == key and r.paid})
        if day in paid_days:
            later = [d for d in paid_days if d > day]
            count += not later or (later[0] - day).days > CHURN
    return count


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_lapses_count_paid_days_not_followed_within_the_churn_window(rows):
    store = StoreFactory(nurture_window_days=NURTURE, churn_window_days=CHURN)
    write(store, rows, ZoneInfo(store.timezone), [12])
    rollups_refresh(store=store)
    for base in CustomerBaseDaily.objects.filter(store=store):
        assert base.lapses == _lapses_oracle(rows, base.date), base.date


def _snapshot(store):
    sales = sorted(SalesDaily.objects.filter(store=store).values_list(
        "date", "channel", "orders_placed", "orders_paid", "sales", "units", "unpaid_amount"))
    customers = sorted(CustomerDaily.objects.filter(store=store).values_list(
        "date", "grain", "segment", "placers", "inquiry_placers", "buyers", "orders_paid", "sales"))
    bases = sorted(CustomerBaseDaily.objects.filter(store=store).values_list(
        "date", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first"))
    return sales, customers, bases


def _later(rows: list[Row]) -> list[Row]:
    """The same rows 200 days on (guests renamed: a guest is one order)."""
    return [Row(r.key if not r.key.startswith("guest") else f"{r.key}-b", r.day + timedelta(days=200),
                r.paid, r.inquired, r.cents, r.refund, r.items) for r in rows]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=rows_strategy, second=rows_strategy)
def test_incremental_refresh_ends_where_a_full_refresh_does(first, second):
    store = StoreFactory(nurture_window_days=NURTURE, churn_window_days=CHURN)
    tz = ZoneInfo(store.timezone)
    write(store, first, tz, [9])
    rollups_refresh(store=store)
    # A later load touches dates from min(second) on.
    shifted = _later(second)
    write(store, shifted, tz, [20, 21, 22], prefix="second")
    rollups_refresh(store=store, since=min(r.day for r in shifted))
    incremental = _snapshot(store)
    rollups_refresh(store=store)
    assert incremental == _snapshot(store)


def test_customer_lifetime_columns_follow_paid_orders(store):
    tz = ZoneInfo(store.timezone)
    rows = [
        Row("c1", date(2025, 1, 5), True, False, 10_000, 0, 1),
        Row("c1", date(2025, 2, 5), True, False, 5_000, 1_000, 1),
        Row("c1", date(2025, 3, 5), False, False, 7_000, 0, 1),
    ]
    write(store, rows, tz, [10])
    rollups_refresh(store=store)
    customer = store.customers.get(external_id="c1")
    assert customer.paid_orders == 2
    assert customer.paid_amount == Decimal("140.00")
    assert customer.first_paid_at.astimezone(tz).date() == date(2025, 1, 5)
    assert customer.last_paid_at.astimezone(tz).date() == date(2025, 2, 5)


def test_sales_daily_is_bucketed_by_the_store_local_day():
    store = StoreFactory(timezone="Asia/Shanghai")
    customer = CustomerFactory(store=store)
    # 23:30 UTC on Nov 10 is 07:30 on Nov 11 in Shanghai.
    Order.objects.create(store=store, external_id="x", customer=customer,
                         placed_at=datetime(2025, 11, 10, 23, 30, tzinfo=ZoneInfo("UTC")),
                         status="paid", amount=Decimal("88.80"), items=2, channel="ads")
    rollups_refresh(store=store)
    row = SalesDaily.objects.get(store=store)
    assert row.date == date(2025, 11, 11)
    assert (row.channel, row.orders_paid, row.sales, row.units) == ("ads", 1, Decimal("88.80"), 2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=rows_strategy, second=rows_strategy)
def test_refreshing_customers_a_part_at_a_time_adds_up_to_the_whole(first, second):
    store = StoreFactory(nurture_window_days=NURTURE, churn_window_days=CHURN)
    tz = ZoneInfo(store.timezone)
    write(store, first, tz, [9])
    rollups_refresh(store=store)  # one part
    whole = _snapshot(store)
    rollups_refresh(store=store, part_orders=3)  # many parts
    assert _snapshot(store) == whole
    # And incrementally, with history read part by part too.
    shifted = _later(second)
    write(store, shifted, tz, [20, 21, 22], prefix="second")
    rollups_refresh(store=store, since=min(r.day for r in shifted), part_orders=2)
    parted = _snapshot(store)
    rollups_refresh(store=store)
    assert parted == _snapshot(store)


def test_parts_keep_a_customer_whole_and_put_a_big_one_alone():
    """A whale customer gets a part of their own; the others share parts of
    about the planned size, so no part holds the whale and a full share."""
    from django.db import connection

    from stores.rollups.reads import PARTS_TABLE, plan_parts
    from tests.factories import OrderFactory

    store = StoreFactory()
    whale = CustomerFactory(store=store)
    for _ in range(12):
        OrderFactory(store=store, customer=whale)
    others = [CustomerFactory(store=store) for _ in range(9)]
    for customer in others:
        OrderFactory(store=store, customer=customer)
        OrderFactory(store=store, customer=customer)
    try:
        parts = plan_parts(store, None, part_orders=5)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.part, COUNT(DISTINCT p.customer_id), COUNT(*) FROM {PARTS_TABLE} p "  # noqa: S608
                "JOIN stores_order o ON o.customer_id = p.customer_id GROUP BY p.part ORDER BY p.part"
            )
            sizes = cursor.fetchall()
            cursor.execute(f"SELECT part FROM {PARTS_TABLE} WHERE customer_id = %s", [whale.pk])  # noqa: S608
            (whale_part,) = cursor.fetchone()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PARTS_TABLE}")
    # 12 whale orders alone, then 18 orders in parts of 5 (a cut falls inside
    # a customer, who stays whole: up to one customer's orders more).
    assert parts == len(sizes) == 5
    assert sizes[whale_part] == (whale_part, 1, 12)
    assert all(orders <= 5 + 2 for part, _, orders in sizes if part != whale_part)
    assert sum(customers for _, customers, _ in sizes) == 10


def test_lifetimes_after_an_incremental_refresh_match_a_full_one(store):
    """A later load refreshes only the customers it touched (the filtered
    path); a first load touches everyone (the unfiltered one): both agree
    with a refresh of everything."""
    tz = ZoneInfo(store.timezone)
    write(store, [
        Row("c1", date(2025, 1, 5), True, False, 10_000, 0, 1),
        Row("c2", date(2025, 1, 9), True, False, 3_000, 0, 1),
        Row("c2", date(2025, 2, 1), False, False, 2_000, 0, 1),
    ], tz, [10])
    rollups_refresh(store=store, since=date(2025, 1, 5))  # nothing before: everyone
    write(store, [
        Row("c1", date(2025, 4, 2), True, False, 4_000, 500, 1),
        Row("c3", date(2025, 4, 3), True, False, 6_000, 0, 1),
        Row("c2", date(2025, 4, 4), False, False, 1_000, 0, 1),
    ], tz, [11], prefix="later")
    rollups_refresh(store=store, since=date(2025, 4, 2))

    def lifetimes():
        return sorted(store.customers.values_list(
            "external_id", "first_paid_at", "last_paid_at", "paid_orders", "paid_amount"))

    incremental = lifetimes()
    rollups_refresh(store=store)
    assert incremental == lifetimes()
    by_id = {row[0]: row[3:] for row in incremental}
    assert by_id == {"c1": (2, Decimal("135.00")), "c2": (1, Decimal("30.00")), "c3": (1, Decimal("60.00"))}
