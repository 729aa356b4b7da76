"""Reads about targets: which target applies to a period, lists with history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol

from django.db.models import QuerySet

from kpitree.bases import base_get, tree_inputs
from kpitree.engine import FUNNEL_TREE
from kpitree.leaves import PeriodData, period_data
from kpitree.models import AttainmentAlert, Target
from kpitree.periods import Period
from kpitree.series import SERIES_METRICS, daily_series
from kpitree.targets.allocation import Allocation, Rule, allocate
from stores.models import Store


class PeriodLike(Protocol):
    @property
    def start(self) -> dt.date: ...
    @property
    def end(self) -> dt.date: ...


def metric_is_additive(metric: str) -> bool:
    """Whether a metric adds up over days (money and counts of flows), so a
    month's target can be scaled to a part of the month by days. Rates,
    ratios, order values and stocks (a segment's base) cannot."""
    return (
        metric in ("sales", "visitors")
        or metric.startswith(("visitors_", "sales_", "buyers_"))
    )


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def targets_current(*, store: Store, tree: str = "funnel") -> QuerySet[Target]:
    return Target.objects.filter(store=store, tree=tree, superseded_at__isnull=True)


def targets_for_period(
    *, store: Store, period: PeriodLike, tree: str = "funnel"
) -> dict[str, Decimal]:
    """Node key -> the current target value for exactly ``period``.

    In order: a target set for exactly that period; else the shortest target
    period containing it, scaled by days for additive metrics (taken as is
    for rates); else, for additive metrics, the sum of targets lying inside
    the period when they tile every one of its days without overlap.
    """
    rows = list(
        targets_current(store=store, tree=tree)
        .filter(period_start__lte=period.end, period_end__gte=period.start)
        .order_by("metric", "period_start")
    )
    by_metric: dict[str, list[Target]] = {}
    for row in rows:
        by_metric.setdefault(row.metric, []).append(row)
    out: dict[str, Decimal] = {}
    for metric, targets in by_metric.items():
        value = _target_for(metric=metric, targets=targets, start=period.start, end=period.end)
        if value is not None:
            out[metric] = value
    return out


def _target_for(
    *, metric: str, targets: Iterable[Target], start: dt.date, end: dt.date
) -> Decimal | None:
    targets = list(targets)
    for t in targets:
        if t.period_start == start and t.period_end == end:
            return t.value
    covering = [t for t in targets if t.period_start <= start and t.period_end >= end]
    if covering:
        best = min(covering, key=lambda t: _days(t.period_start, t.period_end))
        if not metric_is_additive(metric):
            return best.value
        share = Decimal(_days(start, end)) / Decimal(_days(best.period_start, best.period_end))
        return best.value * share
    if not metric_is_additive(metric):
        return None
    inside = sorted(
        (t for t in targets if t.period_start >= start and t.period_end <= end),
        key=lambda t: t.period_start,
    )
    day = start
    total = Decimal(0)
    for t in inside:
        if t.period_start != day:
            return None
        total += t.value
        day = t.period_end + dt.timedelta(days=1)
    return total if inside and day == end + dt.timedelta(days=1) else None


def target_history(*, store: Store, tree: str | None = None) -> QuerySet[Target]:
    """Every target row of the store, current and superseded, newest first per metric."""
    rows = Target.objects.filter(store=store).select_related("set_by")
    if tree is not None:
        rows = rows.filter(tree=tree)
    return rows.order_by("-period_start", "tree", "metric", "-set_at", "-pk")


def alert_list(*, store: Store, limit: int = 20) -> QuerySet[AttainmentAlert]:
    """The latest red transitions recorded by the daily job."""
    return (
        AttainmentAlert.objects.filter(store=store, status="red")
        .select_related("target").order_by("-date", "-pk")[:limit]
    )


def allocation_propose(
    *,
    store: Store,
    period: Period,
    sales_target: float,
    rule: Rule,
    today: dt.date,
    fixed: Mapping[str, float] | None = None,
) -> Allocation:
    """Allocate a sales target for ``period`` over the funnel tree, from the
    store's values over the same number of days ending yesterday."""
    recent = Period(today - dt.timedelta(days=period.days), today - dt.timedelta(days=1))
    data = period_data(store=store, period=recent, churn=False)
    leaves, _ = tree_inputs(FUNNEL_TREE.key, data)
    volatility = _volatility(store=store, period=recent) if rule == "volatility" else None
    peers = _peer_values(store=store, period=recent, data=data) if rule == "headroom" else None
    return allocate(FUNNEL_TREE, leaves, sales_target, rule,
                    volatility=volatility, peers=peers, fixed=fixed)


def _volatility(*, store: Store, period: Period) -> dict[str, float]:
    """Coefficient of variation of each daily series the tree has."""
    metrics = [m for m in SERIES_METRICS if m in FUNNEL_TREE or m in ("orders", "buyers")]
    frame = daily_series(store=store, period=period, metrics=metrics)
    frame["frequency"] = frame["orders"] / frame["buyers"].where(frame["buyers"] > 0)
    out: dict[str, float] = {}
    for column in frame.columns:
        if column not in FUNNEL_TREE:
            continue
        series = frame[column].dropna()
        mean = float(series.mean()) if len(series) > 1 else 0.0
        if mean > 0:
            out[column] = float(series.std()) / mean
    return out


def _peer_values(*, store: Store, period: Period, data: PeriodData) -> dict[str, float]:
    base = base_get(store=store, period=period, kind="peers", current=data)
    values = base.values.get(FUNNEL_TREE.key) if base.available else None
    if values is None:
        return {}
    return {k: v for k, v in values.items() if v is not None}
