"""Attainment: pace from last year's daily shape or linear, rates not
projected, status and the gap in money, on hand-built daily sales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kpitree.models import Target
from kpitree.targets.attainment import attainment_get, department_scorecards
from stores.models import Store
from stores.rollups.refresh import rollups_refresh
from tests.factories import OrderFactory

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
TODAY = dt.date(2025, 3, 11)  # ten days elapsed: Mar 1-10


def _daily(store: Store, first: dt.date, days: int, sales: int) -> None:
    """One paid order a day by a new customer, at local noon; rollups refreshed."""
    for i in range(days):
        placed = dt.datetime.combine(first + dt.timedelta(days=i), dt.time(12), tzinfo=store.tzinfo)
        OrderFactory(store=store, placed_at=placed, amount=Decimal(sales))
    rollups_refresh(store=store)


def _target(store: Store, metric: str, value: str, department: str = "storefront") -> Target:
    return Target.objects.create(store=store, metric=metric, department=department,
                                 period_start=START, period_end=END, value=Decimal(value))


@pytest.mark.django_db
def test_without_last_year_sales_pace_is_linear_by_days(store: Store) -> None:
    _daily(store, START, 10, 100)
    row = attainment_get(target=_target(store, "sales", "3100", ""), today=TODAY)
    assert row.pace_basis == "linear"
    assert row.elapsed_days == 10
    assert row.actual == pytest.approx(1000)
    assert row.projected == pytest.approx(3100)
    assert row.status == "green"
    assert row.gap_money == pytest.approx(0)


@pytest.mark.django_db
def test_last_years_daily_shape_sets_the_pace(store: Store) -> None:
    _daily(store, START, 10, 100)
    # Last March front-loaded: the first ten days carried 2000 of 4100.
    _daily(store, dt.date(2024, 3, 1), 10, 200)
    _daily(store, dt.date(2024, 3, 11), 21, 100)
    row = attainment_get(target=_target(store, "sales", "3100", ""), today=TODAY)
    assert row.pace_basis == "last_year"
    assert row.projected == pytest.approx(1000 * 4100 / 2000)
    assert row.status == "red"
    assert row.gap_money == pytest.approx(2050 - 3100)


@pytest.mark.django_db
def test_a_rate_is_not_projected_and_its_gap_is_the_sales_at_stake(store: Store) -> None:
    _daily(store, START, 10, 100)  # order value 100
    row = attainment_get(target=_target(store, "order_value", "120"), today=TODAY)
    assert row.actual == pytest.approx(100)
    assert row.projected == pytest.approx(100)
    assert row.status == "red"
    # At 120 sales to date would have been 1200, not 1000; over the month, pro rata.
    assert row.gap_money == pytest.approx(-200 * 31 / 10)
    assert row.sales_at_stake == pytest.approx(620)


@pytest.mark.django_db
def test_amber_within_five_percent(store: Store) -> None:
    _daily(store, START, 10, 100)
    row = attainment_get(target=_target(store, "order_value", "104"), today=TODAY)
    assert row.status == "amber"


@pytest.mark.django_db
def test_before_the_period_starts_nothing_is_judged(store: Store) -> None:
    row = attainment_get(target=_target(store, "sales", "3100", ""), today=START)
    assert row.pace_basis == "not_started" and row.status is None and row.actual is None


@pytest.mark.django_db
def test_after_the_period_the_final_value_counts(store: Store) -> None:
    _daily(store, START, 31, 100)
    row = attainment_get(target=_target(store, "sales", "3000", ""), today=dt.date(2025, 4, 5))
    assert row.pace_basis == "final"
    assert row.projected == pytest.approx(3100)
    assert row.status == "green"


@pytest.mark.django_db
def test_scorecards_rank_departments_by_sales_at_stake(store: Store) -> None:
    _daily(store, START, 10, 100)
    _target(store, "order_value", "150", "storefront")  # far behind
    _target(store, "frequency", "1.05", "crm")  # frequency 1.0: slightly behind
    cards = department_scorecards(store=store, today=TODAY)
    assert [c.department for c in cards[:2]] == ["storefront", "crm"]
    assert cards[0].sales_at_stake > cards[1].sales_at_stake > 0
    assert cards[0].worst_status == "red" and cards[1].worst_status == "amber"
    assert {c.department for c in cards[2:]} == {"promotion", "customer_service"}
    assert all(not c.rows for c in cards[2:])
