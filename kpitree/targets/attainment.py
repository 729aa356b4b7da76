"""Reads: attainment of targets (actual, pace, status, gap in money) and
department scorecards (issue #6, items 3 and 4).

Pace projects an additive metric (sales, visitors) to the period's end: the
value to date divided by the share of the period's sales that last year's
same days carried, or by the share of days elapsed when last year has no
sales. A rate is not projected: its value to date is the projection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from kpitree.bases import tree_inputs
from kpitree.engine import DEFAULT_TREES, NodeSpec, Status, evaluate, node_status, sales_at_stake
from kpitree.leaves import PeriodData, period_data
from kpitree.models import Target
from kpitree.periods import Period, period_last_year, period_previous, store_today
from kpitree.targets.selectors import metric_is_additive, targets_current
from stores.models import DepartmentKind, SalesDaily, Store

PaceBasis = Literal["final", "last_year", "linear", "not_started"]
_Values = tuple[dict[str, float | None], dict[str, float | None], dict[str, float | None]]


@dataclass(frozen=True)
class Attainment:
    target: Target
    node: NodeSpec
    elapsed_days: int
    period_days: int
    actual: float | None  # to date (through yesterday, store-local)
    projected: float | None  # to the period's end
    pace_basis: PaceBasis
    status: Status | None
    gap_money: float | None  # projected sales minus what the target implies; < 0 is short

    @property
    def target_value(self) -> float:
        return float(self.target.value)

    @property
    def attainment(self) -> float | None:
        """Projected over target (1.0 = on target)."""
        if self.projected is None or not self.target.value:
            return None
        return self.projected / float(self.target.value)

    @property
    def sales_at_stake(self) -> float:
        """Sales short of target through this metric (0 when on target)."""
        if self.gap_money is None:
            return 0.0
        return max(-self.gap_money, 0.0)


class _Actuals:
    """Tree values per (tree, local date range), computed once per request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[dt.date, dt.date], PeriodData] = {}
        self._values: dict[tuple[str, dt.date, dt.date], _Values] = {}

    def values(self, tree: str, period: Period) -> _Values:
        key = (tree, period.start, period.end)
        if key not in self._values:
            span = (period.start, period.end)
            if span not in self._cache:
                self._cache[span] = period_data(store=self.store, period=period, churn=False)
            leaves, given = tree_inputs(tree, self._cache[span])
            self._values[key] = (leaves, given, dict(evaluate(DEFAULT_TREES[tree], leaves, given)))
        return self._values[key]


def _sales_between(store: Store, start: dt.date, end: dt.date) -> Decimal:
    total = SalesDaily.objects.filter(store=store, date__gte=start, date__lte=end).aggregate(
        s=Sum("sales"))["s"]
    return total or Decimal(0)


def elapsed_share(*, store: Store, period: Period, elapsed: Period) -> tuple[float, PaceBasis]:
    """The share of the period's sales expected by the end of ``elapsed``."""
    if elapsed.end >= period.end:
        return 1.0, "final"
    last_year, last_year_elapsed = period_last_year(period), period_last_year(elapsed)
    whole = _sales_between(store, last_year.start, last_year.end)
    part = _sales_between(store, last_year_elapsed.start, last_year_elapsed.end)
    if whole > 0 and part > 0:
        return float(part / whole), "last_year"
    return elapsed.days / period.days, "linear"


def attainment_get(
    *, target: Target, today: dt.date, actuals: _Actuals | None = None
) -> Attainment:
    """Actual, pace, status and money gap of one target, seen on the store-local ``today``."""
    store = target.store
    actuals = actuals or _Actuals(store)
    tree = DEFAULT_TREES[target.tree]
    node = tree[target.metric]
    period = Period(target.period_start, target.period_end)
    last_day = min(period.end, today - dt.timedelta(days=1))
    if last_day < period.start:
        return Attainment(target, node, 0, period.days, None, None, "not_started", None, None)
    elapsed = Period(period.start, last_day)
    share, basis = elapsed_share(store=store, period=period, elapsed=elapsed)
    leaves, given, values = actuals.values(tree.key, elapsed)
    actual = values.get(node.key)
    additive = metric_is_additive(node.key)
    projected = None if actual is None else (actual / share if additive else actual)
    goal = float(target.value)
    status = node_status(node, value=projected, target=goal)
    gap: float | None = None
    if node.key == tree.root:
        gap = None if projected is None else projected - goal
    else:
        # Sales to date had the metric been at its target (pro rata for an
        # additive one), the rest unchanged; then scaled to the whole period.
        benchmark = goal * share if additive else goal
        stake = sales_at_stake(tree, leaves, given, node.key, benchmark)
        root = values.get(tree.root)
        if stake is not None and root is not None:
            gap = (root - stake) / share
    return Attainment(target, node, elapsed.days, period.days, actual, projected, basis,
                      status, gap)


def attainment_list(
    *, store: Store, today: dt.date | None = None, targets: Iterable[Target] | None = None
) -> list[Attainment]:
    """Attainment of every current target of the store (or of ``targets``)."""
    today = today or store_today(store)
    rows = (
        list(targets) if targets is not None
        else list(Target.objects.filter(store=store, superseded_at__isnull=True)
                  .select_related("store").order_by("-period_start", "tree", "metric"))
    )
    actuals = _Actuals(store)
    tree_order = {k: i for t in DEFAULT_TREES.values() for i, k in enumerate(t.nodes)}
    rows.sort(key=lambda t: (-t.period_start.toordinal(), t.tree, tree_order.get(t.metric, 0)))
    return [attainment_get(target=t, today=today, actuals=actuals) for t in rows]


@dataclass(frozen=True)
class TrendPoint:
    metric: str
    previous: float | None  # same days of the previous period
    current: float | None

    @property
    def change(self) -> float | None:
        if self.previous is None or self.current is None or self.previous == 0:
            return None
        return self.current / self.previous - 1.0


@dataclass(frozen=True)
class DepartmentScorecard:
    department: str
    label: str
    rows: list[Attainment] = field(default_factory=list)
    trend: dict[str, TrendPoint] = field(default_factory=dict)

    @property
    def sales_at_stake(self) -> float:
        return sum(r.sales_at_stake for r in self.rows if r.node.key != "sales")

    @property
    def worst_status(self) -> Status | None:
        statuses = {r.status for r in self.rows}
        for status in ("red", "amber", "green"):
            if status in statuses:
                return status  # type: ignore[return-value]
        return None


def department_scorecards(*, store: Store, today: dt.date | None = None) -> list[DepartmentScorecard]:
    """Per department, its targets whose period holds ``today`` (or the last
    such period when none does), ranked by the sales at stake in them."""
    today = today or store_today(store)
    current = targets_current(store=store, tree="funnel")
    active = list(current.filter(period_start__lte=today, period_end__gte=today))
    if not active:
        latest = current.filter(period_start__lte=today).order_by("-period_end").first()
        if latest is not None:
            active = list(current.filter(period_start=latest.period_start,
                                         period_end=latest.period_end))
    actuals = _Actuals(store)
    rows = [attainment_get(target=t, today=today, actuals=actuals) for t in active]
    cards = {kind: DepartmentScorecard(kind, str(label)) for kind, label in DepartmentKind.choices}
    for row in rows:
        card = cards.get(row.target.department)
        if card is not None:
            card.rows.append(row)
            card.trend[row.node.key] = _trend(actuals, row)
    ranked = sorted(cards.values(), key=lambda c: (-c.sales_at_stake, not c.rows, c.department))
    return ranked


def _trend(actuals: _Actuals, row: Attainment) -> TrendPoint:
    if row.elapsed_days == 0:
        return TrendPoint(row.node.key, None, None)
    elapsed = Period(row.target.period_start,
                     row.target.period_start + dt.timedelta(days=row.elapsed_days - 1))
    _, _, before = actuals.values(row.target.tree, period_previous(elapsed))
    return TrendPoint(row.node.key, before.get(row.node.key), row.actual)


STATUS_LABELS = {"green": _("On target"), "amber": _("Slightly behind"), "red": _("Behind")}
