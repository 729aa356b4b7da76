"""Which target applies to a period: exact, scaled from a containing period, summed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from kpitree.models import Target
from kpitree.targets.selectors import targets_for_period
from stores.models import Store


@dataclass(frozen=True)
class P:
    start: dt.date
    end: dt.date


def _t(store: Store, metric: str, start: dt.date, end: dt.date, value: str, **kw: object) -> Target:
    return Target.objects.create(store=store, department="storefront", metric=metric,
                                 period_start=start, period_end=end, value=Decimal(value), **kw)


MARCH = P(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
Q1 = P(dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.mark.django_db
def test_exact_period_wins_over_containing_quarter(store: Store) -> None:
    _t(store, "sales", Q1.start, Q1.end, "900000")
    _t(store, "sales", MARCH.start, MARCH.end, "310000")
    assert targets_for_period(store=store, period=MARCH) == {"sales": Decimal("310000")}


@pytest.mark.django_db
def test_part_of_a_month_scales_additive_metrics_by_days_and_keeps_rates(store: Store) -> None:
    _t(store, "sales", MARCH.start, MARCH.end, "310000")
    _t(store, "conversion", MARCH.start, MARCH.end, "0.03")
    week = P(dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    got = targets_for_period(store=store, period=week)
    assert got["sales"] == Decimal("70000")
    assert got["conversion"] == Decimal("0.03")


@pytest.mark.django_db
def test_quarter_sums_monthly_additive_targets_only_when_they_tile_it(store: Store) -> None:
    _t(store, "sales", dt.date(2025, 1, 1), dt.date(2025, 1, 31), "100")
    _t(store, "sales", dt.date(2025, 2, 1), dt.date(2025, 2, 28), "200")
    _t(store, "visitors", dt.date(2025, 1, 1), dt.date(2025, 1, 31), "5")
    _t(store, "conversion", dt.date(2025, 1, 1), dt.date(2025, 1, 31), "0.03")
    assert targets_for_period(store=store, period=Q1) == {}
    _t(store, "sales", dt.date(2025, 3, 1), dt.date(2025, 3, 31), "300")
    assert targets_for_period(store=store, period=Q1) == {"sales": Decimal("600")}


@pytest.mark.django_db
def test_superseded_targets_and_other_stores_are_ignored(store: Store, other_store: Store) -> None:
    _t(store, "sales", MARCH.start, MARCH.end, "1", superseded_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    _t(other_store, "sales", MARCH.start, MARCH.end, "2")
    assert targets_for_period(store=store, period=MARCH) == {}
