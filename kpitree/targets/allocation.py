"""Top-down allocation of a sales target over a metric tree (pure, no Django).

Given the store's recent value of every node and a sales target, propose a
target for every node so that the tree's identities hold for the targets too
and the root equals the sales target (issue #6, item 2).

A product node that must grow by g = target / recent spreads g over its
factors as exponents: factor_i x g ** w_i with the w_i summing to 1, so the
product is exactly the target. The rule chooses the w_i: equal, in
proportion to each factor's recent volatility (coefficient of variation), or
in proportion to its headroom to peers (peer / own - 1). A sum node scales
its children in proportion to their recent values.

A manager's adjustment fixes a node. Its value replaces the recent one (its
own subtree is allocated to it, its ancestors recomputed), and the growth
still needed is spread over the nodes that are not fixed, so the root still
equals the sales target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kpitree.engine import TreeSpec

Rule = Literal["equal", "volatility", "headroom"]
RULES: tuple[Rule, ...] = ("equal", "volatility", "headroom")
# A factor with no headroom (or no known volatility) still takes a little of
# the growth, so that no factor is frozen by the rule alone.
_SMALL_WEIGHT = 0.01


class AllocationError(ValueError):
    """The targets cannot be met with the recent values and the fixed nodes."""


@dataclass(frozen=True)
class Allocation:
    rule: Rule
    sales_target: float
    recent: Mapping[str, float | None]
    targets: Mapping[str, float | None]
    fixed: frozenset[str]

    def growth(self, key: str) -> float | None:
        """Target over recent value for one node, None where undefined."""
        recent, target = self.recent.get(key), self.targets.get(key)
        if recent is None or target is None or recent == 0:
            return None
        return target / recent


def recent_values(tree: TreeSpec, leaf_values: Mapping[str, float | None]) -> dict[str, float | None]:
    """Every node bottom-up from the leaves alone, so the identities hold
    exactly. A sum skips its unknown children (a store without inquiry data
    has no inquiry path; the placing rate is then the browse path); a
    product is unknown when any factor is."""
    values: dict[str, float | None] = {}
    for key in tree.post_order():
        node = tree[key]
        if node.is_leaf:
            raw = leaf_values.get(key)
            values[key] = None if raw is None or math.isnan(raw) else float(raw)
            continue
        children = [values[c] for c in node.children]
        known = [c for c in children if c is not None]
        if node.op == "sum":
            values[key] = math.fsum(known) if known else None
        else:
            values[key] = math.prod(known) if len(known) == len(children) else None
    return values


def allocate(
    tree: TreeSpec,
    leaf_values: Mapping[str, float | None],
    sales_target: float,
    rule: Rule = "equal",
    *,
    volatility: Mapping[str, float] | None = None,
    peers: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> Allocation:
    """Propose a target for every node of ``tree`` (see the module docstring).

    ``leaf_values`` are the store's recent leaf values; ``volatility`` the
    coefficient of variation per node, ``peers`` the peer median per node
    (either may miss nodes); ``fixed`` the manager's values for some nodes.
    """
    if rule not in RULES:
        raise AllocationError(f"unknown rule {rule!r}; expected one of {RULES}")
    if not math.isfinite(sales_target) or sales_target <= 0:
        raise AllocationError("the sales target must be a positive number")
    fixed = {k: float(v) for k, v in (fixed or {}).items() if k != tree.root}
    unknown = sorted(set(fixed) - set(tree.nodes))
    if unknown:
        raise AllocationError(f"fixed nodes not in the tree: {unknown}")
    recent = recent_values(tree, leaf_values)
    if recent[tree.root] is None or not recent[tree.root]:
        raise AllocationError("recent sales are unknown or zero; the tree needs recent values")
    for key, value in fixed.items():
        if recent[key] is None:
            raise AllocationError(f"{key} has no recent value, so it cannot be fixed")
        if not math.isfinite(value) or value < 0:
            raise AllocationError(f"{key}: a target must be a non-negative number")

    weights = _Weights(rule=rule, recent=recent, volatility=volatility or {}, peers=peers or {})
    base = _with_fixed(tree, recent, fixed, weights)
    flexible = _flexible(tree, recent, fixed)
    targets: dict[str, float | None] = dict.fromkeys(tree.nodes)
    _allocate_node(tree, tree.root, float(sales_target), base, flexible, weights, targets)
    return Allocation(rule=rule, sales_target=float(sales_target), recent=recent,
                      targets=targets, fixed=frozenset(fixed))


@dataclass(frozen=True)
class _Weights:
    rule: Rule
    recent: Mapping[str, float | None]
    volatility: Mapping[str, float]
    peers: Mapping[str, float]

    def of(self, keys: list[str]) -> list[float]:
        """Exponent weights of the factors ``keys`` of one product, summing to 1."""
        if self.rule == "equal":
            raw = [1.0] * len(keys)
        elif self.rule == "volatility":
            raw = [_positive(self.volatility.get(k)) for k in keys]
        else:
            raw = [_positive(self._headroom(k)) for k in keys]
        total = math.fsum(raw)
        return [w / total for w in raw]

    def _headroom(self, key: str) -> float | None:
        peer, own = self.peers.get(key), self.recent.get(key)
        if peer is None or not own:
            return None
        return peer / own - 1.0


def _positive(weight: float | None) -> float:
    if weight is None or not math.isfinite(weight):
        return _SMALL_WEIGHT
    return max(weight, _SMALL_WEIGHT)


def _flexible(tree: TreeSpec, recent: Mapping[str, float | None], fixed: Mapping[str, float]) -> set[str]:
    """Nodes whose value may still move: not fixed, known, and (for inner
    nodes) with at least one flexible child."""
    out: set[str] = set()
    for key in tree.post_order():
        node = tree[key]
        if key in fixed or recent[key] is None:
            continue
        if node.is_leaf or any(c in out for c in node.children):
            out.add(key)
    return out


def _with_fixed(
    tree: TreeSpec, recent: Mapping[str, float | None], fixed: Mapping[str, float], weights: _Weights
) -> dict[str, float | None]:
    """Recent values with the fixed nodes put in: a fixed node's subtree is
    allocated to its value, its ancestors are recomputed."""
    base: dict[str, float | None] = dict(recent)
    flexible = _flexible(tree, recent, fixed)
    # Deepest first, so a fixed node inside another is in place (and kept)
    # when the outer one's subtree is allocated.
    for key in sorted(fixed, key=lambda k: -len(tree.ancestors(k))):
        out: dict[str, float | None] = {}
        _allocate_node(tree, key, fixed[key], base, flexible, weights, out)
        base.update(out)
        for node_key in tree.ancestors(key):
            node = tree[node_key]
            if node_key in fixed or base[node_key] is None:
                continue
            known = [v for v in (base[c] for c in node.children) if v is not None]
            base[node_key] = math.fsum(known) if node.op == "sum" else math.prod(known)
    return base


def _allocate_node(
    tree: TreeSpec,
    key: str,
    target: float,
    base: Mapping[str, float | None],
    flexible: set[str],
    weights: _Weights,
    out: dict[str, float | None],
) -> None:
    out[key] = target
    node = tree[key]
    if node.is_leaf:
        return
    children = [c for c in node.children if base[c] is not None]
    free = [c for c in children if c in flexible]
    held = [c for c in children if c not in flexible]
    child_targets = (
        _split_sum(key, target, children, free, held, base)
        if node.op == "sum"
        else _split_product(key, target, free, held, base, weights)
    )
    for child, value in child_targets.items():
        if child in flexible:
            _allocate_node(tree, child, value, base, flexible, weights, out)
        else:
            _copy_subtree(tree, child, base, out)


def _copy_subtree(tree: TreeSpec, key: str, base: Mapping[str, float | None],
                  out: dict[str, float | None]) -> None:
    out[key] = base[key]
    for child in tree[key].children:
        _copy_subtree(tree, child, base, out)


def _value(base: Mapping[str, float | None], key: str) -> float:
    value = base[key]
    assert value is not None  # callers pass known children only
    return value


def _split_sum(
    key: str, target: float, children: list[str], free: list[str], held: list[str],
    base: Mapping[str, float | None],
) -> dict[str, float]:
    out = {c: _value(base, c) for c in held}
    remainder = target - math.fsum(out.values())
    if not free:
        if not math.isclose(remainder, 0.0, rel_tol=0.0, abs_tol=1e-12 * max(abs(target), 1.0)):
            raise AllocationError(f"{key}: every part is fixed and they do not add up to the target")
        return out
    if remainder < 0:
        raise AllocationError(f"{key}: the fixed parts already exceed the target")
    free_base = math.fsum(_value(base, c) for c in free)
    shares = [_value(base, c) / free_base if free_base > 0 else 1.0 / len(free) for c in free]
    for child, share in zip(free[:-1], shares[:-1], strict=True):
        out[child] = remainder * share
    # The last part takes what is left, so the parts add up to the target to
    # the last bit that fsum can see.
    out[free[-1]] = max(remainder - math.fsum(out[c] for c in free[:-1]), 0.0)
    return out


def _split_product(
    key: str, target: float, free: list[str], held: list[str],
    base: Mapping[str, float | None], weights: _Weights,
) -> dict[str, float]:
    out = {c: _value(base, c) for c in held}
    held_product = math.prod(out.values())
    if not free:
        if not math.isclose(held_product, target, rel_tol=1e-9):
            raise AllocationError(f"{key}: every factor is fixed and their product is not the target")
        return out
    free_product = math.prod(_value(base, c) for c in free)
    if held_product == 0 or free_product == 0:
        if target == 0:
            return out | {c: _value(base, c) for c in free}
        raise AllocationError(f"{key}: a factor is zero, so no growth of the others reaches the target")
    if target == 0:
        raise AllocationError(f"{key}: a zero target for a product of positive factors")
    growth = target / (held_product * free_product)
    for child, w in zip(free, weights.of(free), strict=True):
        out[child] = _value(base, child) * growth**w
    return out
