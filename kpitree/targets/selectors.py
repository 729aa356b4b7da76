"""Reads about targets: which target applies to a period, lists with history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from django.db.models import QuerySet

from kpitree.models import Target
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
