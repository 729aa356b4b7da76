"""What a period is compared with: the previous period, last year, the target,
or the median of peer stores (DOMAIN.md section 4).

Every base yields values for every node of both trees (None where it cannot
say), built so that the tree identities hold, which the exact decomposition
needs. A base that cannot be had comes back with ``available=False`` and a
note saying why, never as zeros.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from kpitree.engine import (
    CUSTOMER_TREE,
    FUNNEL_TREE,
    TreeSpec,
    TreeValues,
    customer_inputs,
    evaluate,
    funnel_inputs,
)
from kpitree.leaves import PeriodData, customer_from, funnel_from, period_data, period_data_many
from kpitree.periods import Period, period_last_year, period_previous
from stores.models import Store

BaseKind = Literal["previous", "last_year", "target", "peers"]
BASE_KINDS: tuple[str, ...] = ("previous", "last_year", "target", "peers")
TREES: dict[str, TreeSpec] = {FUNNEL_TREE.key: FUNNEL_TREE, CUSTOMER_TREE.key: CUSTOMER_TREE}
MIN_PEERS = 3

Inputs = tuple[dict[str, float | None], dict[str, float | None]]


@dataclass(frozen=True)
class Base:
    kind: str
    period: Period | None
    available: bool
    note: str
    # Tree key -> values of every node, consistent with the tree's identities
    # (what the decomposition runs on); None when the tree has no base.
    values: dict[str, TreeValues | None]
    # Tree key -> node key -> the value to show and judge status against,
    # when it differs from ``values`` (a target set on an inner node).
    shown: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # Scorecard measures outside the trees: unpaid_amount, churn_rate.
    extras: dict[str, float | None] = field(default_factory=dict)


def tree_inputs(tree_key: str, data: PeriodData) -> Inputs:
    if tree_key == FUNNEL_TREE.key:
        return funnel_inputs(funnel_from(data))
    return customer_inputs(customer_from(data))


def tree_values(tree_key: str, data: PeriodData) -> TreeValues:
    return evaluate(TREES[tree_key], *tree_inputs(tree_key, data))


def extras_of(data: PeriodData) -> dict[str, float | None]:
    return {"unpaid_amount": float(data.unpaid_amount), "churn_rate": data.churn_rate}


def base_get(*, store: Store, period: Period, kind: str, current: PeriodData) -> Base:
    if kind in ("previous", "last_year"):
        base_period = period_previous(period) if kind == "previous" else period_last_year(period)
        data = period_data(store=store, period=base_period)
        values: dict[str, TreeValues | None] = {k: tree_values(k, data) for k in TREES}
        available = data.orders > 0 or data.visitors is not None
        note = "" if available else f"no orders or traffic in {base_period.label}"
        return Base(kind, base_period, available, note, values, extras=extras_of(data))
    if kind == "target":
        return _target_base(store=store, period=period, current=current)
    if kind == "peers":
        return _peers_base(store=store, period=period)
    raise ValueError(f"unknown base {kind!r}; expected one of {BASE_KINDS}")


def _targets(store: Store, period: Period, tree: str) -> dict[str, float]:
    # Imported here: the targets package reads kpitree.selectors (attainment),
    # which imports this module.
    from kpitree.targets.selectors import targets_for_period

    return {k: float(v) for k, v in targets_for_period(store=store, period=period, tree=tree).items()}


def _target_base(*, store: Store, period: Period, current: PeriodData) -> Base:
    values: dict[str, TreeValues | None] = {}
    shown: dict[str, dict[str, float | None]] = {}
    any_target = False
    for key, tree in TREES.items():
        targets = {k: v for k, v in _targets(store, period, key).items() if k in tree}
        any_target = any_target or bool(targets)
        if not targets:
            values[key] = None
            shown[key] = dict.fromkeys(tree.nodes)
            continue
        leaves, _ = tree_inputs(key, current)
        values[key] = target_tree(tree, targets, leaves)
        shown[key] = {k: targets.get(k) for k in tree.nodes}
    note = (
        "nodes without a target are held at their actual value in the decomposition"
        if any_target else "no targets are set for this period"
    )
    return Base("target", None, any_target, note, values, shown)


def target_tree(tree: TreeSpec, targets: Mapping[str, float],
                actual_leaves: Mapping[str, float | None]) -> TreeValues | None:
    """A base tree from targets, consistent with the tree's identities.

    A targeted node with no targeted node below it is a cut: its children are
    left unknown, so the decomposition puts its whole gap on it rather than
    inventing how its parts were meant to move. Leaves outside every cut
    take their target if set, else their actual value (no gap there).
    """
    targeted = set(targets)
    cuts = {
        k for k in targeted
        if not tree[k].is_leaf and not any(set(_descendants(tree, k)) & targeted)
    }
    under_cut = {d for c in cuts for d in _descendants(tree, c)}
    leaves = {
        k: (None if k in under_cut else targets.get(k, v))
        for k, v in actual_leaves.items()
    }
    given = {k: targets[k] for k in cuts}
    base = evaluate(tree, leaves, given)
    if base[tree.root] is None:
        return None
    return base


def _descendants(tree: TreeSpec, key: str) -> list[str]:
    out: list[str] = []
    stack = list(tree[key].children)
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(tree[child].children)
    return out


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _evaluate_filling(tree: TreeSpec, leaves: Mapping[str, float | None],
                      given: Mapping[str, float | None]) -> TreeValues:
    """Evaluate from the leaves; an inner node its children cannot give (peers
    without inquiry data have no inquiry path) takes the given median instead,
    bottom-up, so it becomes a cut and every node above stays an identity."""
    used: dict[str, float | None] = {}
    for key in tree.post_order():
        if tree[key].is_leaf or given.get(key) is None:
            continue
        if evaluate(tree, leaves, used)[key] is None:
            used[key] = given[key]
    return evaluate(tree, leaves, used)


def _peers_base(*, store: Store, period: Period) -> Base:
    if not store.category:
        return Base("peers", period, False, "the store has no category, so no peers", {})
    peers = list(Store.objects.filter(category=store.category).exclude(pk=store.pk))
    data = [d for d in period_data_many(stores=peers, period=period).values() if d.orders > 0]
    if len(data) < MIN_PEERS:
        note = (f"{len(data)} peer store(s) of category {store.category!r} have orders in "
                f"{period.label}; at least {MIN_PEERS} are needed")
        return Base("peers", period, False, note, {})
    values: dict[str, TreeValues | None] = {}
    for key, tree in TREES.items():
        per_peer = [tree_inputs(key, d) for d in data]
        leaves = {leaf: _median([p[0].get(leaf) for p in per_peer]) for leaf in tree.leaves()}
        given = {k: _median([p[1].get(k) for p in per_peer]) for k in tree.nodes}
        values[key] = _evaluate_filling(tree, leaves, given)
    extras = {
        "unpaid_amount": _median([float(d.unpaid_amount) for d in data]),
        "churn_rate": None,  # needs a query per peer; not compared with peers yet
    }
    note = f"median of {len(data)} peer stores of category {store.category!r}, leaf by leaf"
    return Base("peers", period, True, note, values, extras=extras)
