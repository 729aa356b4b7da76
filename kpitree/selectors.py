"""Reads of the KPI trees for a store: values, diagnosis against a base, overview.

This is the contract the dashboard, targets and API code against. Callers
scope the store first with stores.selectors.store_get_for_user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Sum

from kpitree.bases import BASE_KINDS, TREES, Base, base_get, extras_of, tree_inputs
from kpitree.engine import Decomposition, Status, TreeValues, decompose, evaluate, identity_errors
from kpitree.engine.status import node_status
from kpitree.engine.tree import Department, Op, Unit
from kpitree.leaves import ExactFrom, PeriodData, period_data
from kpitree.periods import Period
from kpitree.scorecard import MetricRow, StageRow, scorecard_build
from kpitree.series import SERIES_METRICS, daily_series
from stores.models import SalesDaily, Store

__all__ = [
    "BASE_KINDS", "SERIES_METRICS", "Diagnosis", "MetricRow", "NodeRow", "StageRow",
    "StoreOverview", "TreeDiagnosis", "daily_series", "diagnosis_get", "store_overview",
    "tree_evaluate",
]


@dataclass(frozen=True)
class NodeRow:
    key: str
    name_en: str
    name_zh: str
    unit: Unit
    op: Op
    parent: str | None
    depth: int
    stage: int | None
    department: Department | None
    higher_is_better: bool
    value: float | None
    base_value: float | None
    change: float | None
    change_pct: float | None
    contribution: float | None
    is_leaf_of_decomposition: bool
    status: Status | None
    missing: bool


@dataclass(frozen=True)
class TreeDiagnosis:
    key: str
    name_en: str
    name_zh: str
    nodes: list[NodeRow]
    total_change: float | None
    contributions_sum: float | None
    identity_ok: bool


@dataclass(frozen=True)
class Diagnosis:
    store_slug: str
    currency: str
    period: Period
    base_kind: str
    base_period: Period | None
    base_available: bool
    base_note: str
    exact_from: ExactFrom
    trees: dict[str, TreeDiagnosis]
    scorecard: list[StageRow]
    shortest_stave: int | None
    sales: float
    base_sales: float | None


@dataclass(frozen=True)
class StoreOverview:
    store_slug: str
    store_name: str
    currency: str
    period: Period
    base_kind: str
    base_available: bool
    sales: float
    base_sales: float | None
    change_pct: float | None
    stage_statuses: dict[int, Status | None]
    shortest_stave: int | None
    daily_sales: list[tuple[date, float]]


def tree_evaluate(*, store: Store, tree: str, period: Period) -> TreeValues:
    """Every node of the ``funnel`` or ``customer`` tree for the period."""
    if tree not in TREES:
        raise ValueError(f"unknown tree {tree!r}; expected one of {tuple(TREES)}")
    data = period_data(store=store, period=period, churn=False)
    return evaluate(TREES[tree], *tree_inputs(tree, data))


def _pct(change: float | None, base: float | None) -> float | None:
    if change is None or base is None or base == 0:
        return None
    return change / abs(base)


def _tree_diagnosis(key: str, values: TreeValues, base: Base, *, detail: bool) -> TreeDiagnosis:
    tree = TREES[key]
    base_values = base.values.get(key) if base.available else None
    shown = base.shown.get(key) if base.available else None
    decomposition: Decomposition | None = None
    if detail and base_values is not None:
        try:
            decomposition = decompose(tree, base_values, values)
        except ValueError:
            decomposition = None  # the root is missing in one of the periods
    rows = []
    for k, node in tree.nodes.items():
        value = values[k]
        if shown is not None:
            base_value = shown.get(k)
        else:
            base_value = base_values[k] if base_values is not None else None
        change = value - base_value if value is not None and base_value is not None else None
        part = decomposition.nodes[k] if decomposition is not None else None
        rows.append(NodeRow(
            key=k, name_en=node.name_en, name_zh=node.name_zh, unit=node.unit, op=node.op,
            parent=tree.parent(k), depth=len(tree.ancestors(k)), stage=node.stage,
            department=node.department, higher_is_better=node.higher_is_better,
            value=value, base_value=base_value, change=change,
            change_pct=_pct(change, base_value),
            contribution=part.contribution if part is not None else None,
            is_leaf_of_decomposition=part.is_leaf if part is not None else False,
            status=node_status(node, value=value, target=base_value),
            missing=value is None,
        ))
    identity_ok = not identity_errors(tree, values, rel_tol=1e-9, abs_tol=1e-9)
    if base_values is not None:
        identity_ok = identity_ok and not identity_errors(tree, base_values, 1e-9, abs_tol=1e-9)
    if decomposition is not None:
        tolerance = 1e-6 * max(1.0, abs(decomposition.total_change))
        identity_ok = identity_ok and abs(decomposition.residual) <= tolerance
    return TreeDiagnosis(
        key=key, name_en=tree.name_en, name_zh=tree.name_zh, nodes=rows,
        total_change=decomposition.total_change if decomposition is not None else None,
        contributions_sum=decomposition.leaf_sum if decomposition is not None else None,
        identity_ok=identity_ok,
    )


def _diagnose(*, store: Store, period: Period, base: str, detail: bool
              ) -> tuple[Diagnosis, PeriodData]:
    if base not in BASE_KINDS:
        raise ValueError(f"unknown base {base!r}; expected one of {BASE_KINDS}")
    current = period_data(store=store, period=period)
    inputs = {k: tree_inputs(k, current) for k in TREES}
    values = {k: evaluate(TREES[k], *inputs[k]) for k in TREES}
    the_base = base_get(store=store, period=period, kind=base, current=current)
    trees = {k: _tree_diagnosis(k, values[k], the_base, detail=detail) for k in TREES}
    benchmarks = {
        k: {row.key: row.base_value for row in trees[k].nodes} for k in TREES
    } if the_base.available else {}
    stages, shortest = scorecard_build(
        trees=TREES, inputs=inputs, values=values, extras=extras_of(current),
        base_values=benchmarks, base_extras=the_base.extras if the_base.available else {},
    )
    base_sales = benchmarks.get("funnel", {}).get("sales")
    if base_sales is None and the_base.available:
        base_sales = benchmarks.get("customer", {}).get("sales")
    diagnosis = Diagnosis(
        store_slug=store.slug, currency=store.currency, period=period, base_kind=base,
        base_period=the_base.period if base in ("previous", "last_year") else None,
        base_available=the_base.available, base_note=the_base.note,
        exact_from=current.exact_from, trees=trees, scorecard=stages,
        shortest_stave=shortest, sales=float(current.sales), base_sales=base_sales,
    )
    return diagnosis, current


def diagnosis_get(*, store: Store, period: Period, base: str = "previous") -> Diagnosis:
    """Both trees against the base (``previous``, ``last_year``, ``target``,
    ``peers``), with the exact decomposition of the change in sales and the
    seven-stage scorecard. Raises ValueError on an unknown base."""
    return _diagnose(store=store, period=period, base=base, detail=True)[0]


def store_overview(*, store: Store, period: Period, base: str = "previous") -> StoreOverview:
    """Sales against the base, stage statuses and the daily sales, for the stores page."""
    diagnosis, _ = _diagnose(store=store, period=period, base=base, detail=False)
    rows = (
        SalesDaily.objects.filter(store=store, date__gte=period.start, date__lte=period.end)
        .values("date").annotate(sales=Sum("sales")).order_by("date")
    )
    base_sales = diagnosis.base_sales
    return StoreOverview(
        store_slug=store.slug, store_name=store.name, currency=store.currency, period=period,
        base_kind=base, base_available=diagnosis.base_available, sales=diagnosis.sales,
        base_sales=base_sales,
        change_pct=_pct(None if base_sales is None else diagnosis.sales - base_sales, base_sales),
        stage_statuses={s.stage: s.status for s in diagnosis.scorecard},
        shortest_stave=diagnosis.shortest_stave,
        daily_sales=[(r["date"], float(r["sales"])) for r in rows],
    )
