"""What made the root move: exact LMDI decomposition over a tree, and sales at stake.

Scale recursion (DOMAIN.md section 4): A_root = 1; a child of a sum takes its
parent's scale; a child c of a product p takes A_p * L(p1, p0) / L(c1, c0);
node n contributes A_n * (n1 - n0). The leaves' contributions add up to the
root's change exactly.

Zero values: Ang & Liu (2007, Energy Policy 35) replace each zero by a small
delta and let it tend to zero. Done numerically that limit converges only like
1 / ln(1 / delta), too slowly for an exact decomposition (Wood & Lenzen 2006,
Energy Policy 34), so by default we take the limit analytically: each value is
tracked as coef * delta**order (order 0 for a positive value, 1 for a zero
leaf; orders add under a product) and the scales are limits of ratios of such
terms. Passing ``zero_delta`` runs the plain numeric substitution instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kpitree.engine.tree import TreeSpec, apply_op, evaluate


@dataclass(frozen=True)
class NodeChange:
    """One node's part in a decomposition.

    ``contribution`` and ``scale`` are None for nodes below a cut (not
    decomposed). ``is_leaf`` marks the nodes whose contributions add up to
    the total; ``cut`` marks inner nodes treated as leaves because some child
    is missing in either period, so their whole contribution sits on them.
    """

    key: str
    value0: float | None
    value1: float | None
    scale: float | None
    contribution: float | None
    is_leaf: bool
    cut: bool


@dataclass(frozen=True)
class Decomposition:
    tree_key: str
    nodes: Mapping[str, NodeChange]
    total_change: float
    leaf_sum: float

    @property
    def residual(self) -> float:
        """Non-zero only when the inputs break a tree identity."""
        return self.total_change - self.leaf_sum

    def leaf_contributions(self) -> dict[str, float]:
        """Decomposition leaves in display order, for a waterfall chart."""
        return {k: n.contribution for k, n in self.nodes.items()
                if n.is_leaf and n.contribution is not None}

    def cuts(self) -> tuple[str, ...]:
        return tuple(k for k, n in self.nodes.items() if n.cut)


def log_mean(a: float, b: float) -> float:
    """L(a, b) = (a - b) / (ln a - ln b), L(a, a) = a, for a, b > 0."""
    if a <= 0 or b <= 0:
        raise ValueError("the logarithmic mean needs positive values")
    if a == b:
        return a
    relative = (a - b) / b
    if abs(relative) < 0.5:
        # log1p keeps full precision when a and b are close, where ln a - ln b would not.
        return (a - b) / math.log1p(relative)
    return (a - b) / (math.log(a) - math.log(b))


@dataclass(frozen=True)
class _Small:
    """A value as delta -> 0: coef * delta**order * ln(1/delta)**(-logs)."""

    coef: float
    order: int
    logs: int = 0

    def times(self, other: _Small) -> _Small:
        return _Small(self.coef * other.coef, self.order + other.order, self.logs + other.logs)

    def over(self, other: _Small) -> _Small:
        return _Small(self.coef / other.coef, self.order - other.order, self.logs - other.logs)

    def limit(self) -> float:
        if self.order > 0 or (self.order == 0 and self.logs > 0):
            return 0.0
        if self.order == 0 and self.logs == 0:
            return self.coef
        raise ValueError("inconsistent zeros: a positive node has a zero factor")


def _small_log_mean(x: _Small, y: _Small) -> _Small:
    # L(a d^j, b d^k) ~ d^j L(a, b) if j == k, else a d^j / ((k - j) ln(1/d)) for j < k.
    if x.order == y.order:
        return _Small(log_mean(x.coef, y.coef), x.order)
    low, high = (x, y) if x.order < y.order else (y, x)
    return _Small(low.coef / (high.order - low.order), low.order, 1)


def _region(tree: TreeSpec, v0: Mapping[str, float | None], v1: Mapping[str, float | None]
            ) -> tuple[list[str], set[str]]:
    """Nodes reachable from the root through fully known children, and the cuts."""
    region: list[str] = []
    cuts: set[str] = set()
    stack = [tree.root]
    while stack:
        key = stack.pop()
        region.append(key)
        node = tree[key]
        if node.is_leaf:
            continue
        if all(v0.get(c) is not None and v1.get(c) is not None for c in node.children):
            stack.extend(node.children)
        else:
            cuts.add(key)
    return region, cuts


def _expanded(tree: TreeSpec, key: str, cuts: set[str]) -> bool:
    return not tree[key].is_leaf and key not in cuts


def _check_signs(tree: TreeSpec, region: set[str], values: Mapping[str, float | None]) -> None:
    # Logarithms need non-negative factors; sums may hold anything.
    for key in region:
        parent = tree.parent(key)
        in_product = tree[key].op == "product" or (parent is not None and tree[parent].op == "product")
        value = values[key]
        if in_product and value is not None and value < 0:
            raise ValueError(f"{key}: negative value under a product cannot be decomposed")


def _asymptotic(tree: TreeSpec, region: list[str], cuts: set[str],
                values: Mapping[str, float | None]) -> dict[str, _Small]:
    out: dict[str, _Small] = {}
    for key in reversed(region):  # children were pushed after parents
        value = values[key]
        assert value is not None
        if value > 0 or not _expanded(tree, key, cuts):
            out[key] = _Small(value, 0) if value > 0 else _Small(1.0, 1)
            continue
        children = [out[c] for c in tree[key].children]
        if tree[key].op == "product":
            term = children[0]
            for child in children[1:]:
                term = term.times(child)
        else:
            lowest = min(c.order for c in children)
            term = _Small(math.fsum(c.coef for c in children if c.order == lowest), lowest)
        out[key] = term
    return out


def _numeric(tree: TreeSpec, region: list[str], cuts: set[str],
             values: Mapping[str, float | None], delta: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in reversed(region):
        value = values[key]
        assert value is not None
        if _expanded(tree, key, cuts):
            out[key] = apply_op(tree[key].op, [out[c] for c in tree[key].children])
        else:
            out[key] = value if value != 0 else delta
    return out


def decompose(
    tree: TreeSpec,
    v0: Mapping[str, float | None],
    v1: Mapping[str, float | None],
    *,
    zero_delta: float | None = None,
) -> Decomposition:
    """Split root(v1) - root(v0) over the tree's leaves (LMDI, exact).

    ``v0`` is the base (previous period, last year, target, peer median) and
    ``v1`` the current period, e.g. two ``evaluate`` results. Raises
    ValueError when the root is missing in either period.
    """
    root0, root1 = v0.get(tree.root), v1.get(tree.root)
    if root0 is None or root1 is None:
        raise ValueError(f"{tree.root} is missing in one period; nothing to decompose")
    region, cuts = _region(tree, v0, v1)
    _check_signs(tree, set(region), v0)
    _check_signs(tree, set(region), v1)
    if zero_delta is None:
        scales = _limit_scales(tree, region, cuts, v0, v1)
        changes = {k: _known(v1, k) - _known(v0, k) for k in region}
    else:
        n0 = _numeric(tree, region, cuts, v0, zero_delta)
        n1 = _numeric(tree, region, cuts, v1, zero_delta)
        scales = _numeric_scales(tree, region, cuts, n0, n1)
        changes = {k: n1[k] - n0[k] for k in region}
    nodes = {}
    leaf_parts: list[float] = []
    for key in tree.nodes:
        is_leaf = key in scales and not _expanded(tree, key, cuts)
        contribution = scales[key] * changes[key] if key in scales else None
        if is_leaf and contribution is not None:
            leaf_parts.append(contribution)
        nodes[key] = NodeChange(key=key, value0=v0.get(key), value1=v1.get(key),
                                scale=scales.get(key), contribution=contribution,
                                is_leaf=is_leaf, cut=key in cuts)
    return Decomposition(tree_key=tree.key, nodes=MappingProxyType(nodes),
                         total_change=root1 - root0, leaf_sum=math.fsum(leaf_parts))


def _known(values: Mapping[str, float | None], key: str) -> float:
    value = values[key]
    assert value is not None
    return value


def _limit_scales(tree: TreeSpec, region: list[str], cuts: set[str],
                  v0: Mapping[str, float | None], v1: Mapping[str, float | None]
                  ) -> dict[str, float]:
    a0, a1 = _asymptotic(tree, region, cuts, v0), _asymptotic(tree, region, cuts, v1)
    terms: dict[str, _Small] = {tree.root: _Small(1.0, 0)}
    for key in region:  # parents before children
        if not _expanded(tree, key, cuts):
            continue
        node = tree[key]
        for child in node.children:
            if node.op == "sum":
                terms[child] = terms[key]
            else:
                ratio = _small_log_mean(a1[key], a0[key]).over(_small_log_mean(a1[child], a0[child]))
                terms[child] = terms[key].times(ratio)
    return {k: t.limit() for k, t in terms.items()}


def _numeric_scales(tree: TreeSpec, region: list[str], cuts: set[str],
                    n0: Mapping[str, float], n1: Mapping[str, float]) -> dict[str, float]:
    scales = {tree.root: 1.0}
    for key in region:
        node = tree[key]
        if not _expanded(tree, key, cuts):
            continue
        for child in node.children:
            if node.op == "sum":
                scales[child] = scales[key]
            else:
                scales[child] = (scales[key] * log_mean(n1[key], n0[key])
                                 / log_mean(n1[child], n0[child]))
    return scales


def sales_at_stake(
    tree: TreeSpec,
    leaves: Mapping[str, float | None],
    given: Mapping[str, float | None],
    node_key: str,
    benchmark_value: float | None,
) -> float | None:
    """Root value if ``node_key`` were at ``benchmark_value``, all else unchanged.

    Walks up from the node: a product parent scales by new/old child, a sum
    parent adds the child's difference. Both use the parent's own value, so
    a parent the data gives (sales without traffic data) still works. Falls
    back to recomputing from siblings when the old child value is 0. None
    when the node, the benchmark or an ancestor is missing.
    """
    values = evaluate(tree, leaves, given)
    if node_key not in tree:
        raise KeyError(node_key)
    old, new = values[node_key], benchmark_value
    if old is None or new is None:
        return None
    key = node_key
    for parent in tree.ancestors(node_key):
        parent_old = values[parent]
        parent_new = _replace_child(tree, values, parent, key, old, new)
        if parent_old is None or parent_new is None:
            return None
        key, old, new = parent, parent_old, parent_new
    return new


def _replace_child(tree: TreeSpec, values: Mapping[str, float | None], parent: str,
                   child: str, old: float, new: float) -> float | None:
    parent_old = values[parent]
    if parent_old is None:
        return None
    if tree[parent].op == "sum":
        return parent_old + (new - old)
    if old != 0:
        return parent_old * (new / old)
    siblings = [values[c] for c in tree[parent].children if c != child]
    known = [s for s in siblings if s is not None]
    if len(known) != len(siblings):
        return None
    return apply_op("product", [new, *known])
