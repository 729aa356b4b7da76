"""A generic tree of metrics: specification, validation and bottom-up evaluation.

Pure Python on purpose: the web app, the Celery tasks and the tests all call it
with plain numbers. Missing data is ``None`` everywhere, never ``0``: a store
with no traffic export has unknown visitors, not zero visitors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Unit = Literal["count", "rate", "money", "ratio"]
Op = Literal["sum", "product", "leaf"]
Department = Literal["promotion", "storefront", "customer_service", "crm"]

UNITS: frozenset[str] = frozenset({"count", "rate", "money", "ratio"})
OPS: frozenset[str] = frozenset({"sum", "product", "leaf"})
DEPARTMENTS: frozenset[str] = frozenset({"promotion", "storefront", "customer_service", "crm"})


class TreeError(ValueError):
    """The tree specification is malformed."""


@dataclass(frozen=True)
class NodeSpec:
    key: str
    name_en: str
    name_zh: str
    unit: Unit
    op: Op
    children: tuple[str, ...] = ()
    stage: int | None = None
    department: Department | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise TreeError(f"{self.key}: unknown unit {self.unit!r}")
        if self.op not in OPS:
            raise TreeError(f"{self.key}: unknown op {self.op!r}")
        if self.department is not None and self.department not in DEPARTMENTS:
            raise TreeError(f"{self.key}: unknown department {self.department!r}")
        if self.stage is not None and not 1 <= self.stage <= 7:
            raise TreeError(f"{self.key}: stage must be 1..7 or None, got {self.stage}")
        if self.op == "leaf" and self.children:
            raise TreeError(f"{self.key}: a leaf has no children")
        if self.op != "leaf" and not self.children:
            raise TreeError(f"{self.key}: a {self.op} node needs at least one child")
        if len(set(self.children)) != len(self.children):
            raise TreeError(f"{self.key}: duplicate children")

    @property
    def is_leaf(self) -> bool:
        return self.op == "leaf"


@dataclass(frozen=True, eq=False)
class TreeSpec:
    """A validated tree; ``nodes`` keeps display order (root first, depth first)."""

    key: str
    name_en: str
    name_zh: str
    root: str
    nodes: Mapping[str, NodeSpec]
    # Derived once at construction; the tree is immutable.
    _parent: Mapping[str, str] = field(init=False, repr=False)
    _post_order: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        nodes = dict(self.nodes)
        for key, node in nodes.items():
            if key != node.key:
                raise TreeError(f"node stored under {key!r} has key {node.key!r}")
        parent = _parents(nodes)
        roots = [k for k in nodes if k not in parent]
        if roots != [self.root]:
            raise TreeError(f"tree {self.key}: expected the single root {self.root!r}, found {roots}")
        order = _post_order(nodes, self.root)
        if len(order) != len(nodes):
            unreachable = sorted(set(nodes) - set(order))
            raise TreeError(f"tree {self.key}: nodes not reachable from the root: {unreachable}")
        object.__setattr__(self, "nodes", MappingProxyType(nodes))
        object.__setattr__(self, "_parent", MappingProxyType(parent))
        object.__setattr__(self, "_post_order", tuple(order))

    def __getitem__(self, key: str) -> NodeSpec:
        return self.nodes[key]

    def __contains__(self, key: object) -> bool:
        return key in self.nodes

    def parent(self, key: str) -> str | None:
        return self._parent.get(key)

    def ancestors(self, key: str) -> tuple[str, ...]:
        """From the node's parent up to the root."""
        out: list[str] = []
        current = self.parent(key)
        while current is not None:
            out.append(current)
            current = self.parent(current)
        return tuple(out)

    def post_order(self) -> tuple[str, ...]:
        """Children before parents: the order in which values can be computed."""
        return self._post_order

    def leaves(self) -> tuple[str, ...]:
        return tuple(k for k, n in self.nodes.items() if n.is_leaf)


def _parents(nodes: Mapping[str, NodeSpec]) -> dict[str, str]:
    parent: dict[str, str] = {}
    for key, node in nodes.items():
        for child in node.children:
            if child not in nodes:
                raise TreeError(f"{key}: child {child!r} is not a node of the tree")
            if child in parent:
                raise TreeError(f"{child!r} has two parents: {parent[child]!r} and {key!r}")
            parent[child] = key
    return parent


def _post_order(nodes: Mapping[str, NodeSpec], root: str) -> list[str]:
    order: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(key: str) -> None:
        if key in on_path:
            raise TreeError(f"cycle through {key!r}")
        if key in done:
            return
        on_path.add(key)
        for child in nodes[key].children:
            visit(child)
        on_path.discard(key)
        done.add(key)
        order.append(key)

    visit(root)
    return order


@dataclass(frozen=True)
class TreeValues(Mapping[str, "float | None"]):
    """Value of every node of one tree for one store and period (None = missing).

    ``given`` names the nodes whose value came from the data rather than from
    their children, so the UI can say where a number comes from.
    """

    tree_key: str
    data: Mapping[str, float | None]
    given: frozenset[str] = frozenset()

    def __getitem__(self, key: str) -> float | None:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def known(self, key: str) -> bool:
        return self.data.get(key) is not None


def apply_op(op: Op, values: list[float]) -> float:
    if op == "sum":
        return math.fsum(values)
    if op == "product":
        return math.prod(values)
    raise ValueError("a leaf has no operator")


def _clean(key: str, value: float | None) -> float | None:
    # pandas hands us NaN for "no data"; it means missing, not a number.
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ValueError(f"{key}: infinite value")
    return number


def _check_keys(tree: TreeSpec, values: Mapping[str, object], what: str) -> None:
    unknown = sorted(set(values) - set(tree.nodes))
    if unknown:
        raise ValueError(f"{what} for nodes not in tree {tree.key}: {unknown}")


def evaluate(
    tree: TreeSpec,
    leaf_values: Mapping[str, float | None],
    given: Mapping[str, float | None] | None = None,
) -> TreeValues:
    """Compute every node bottom-up.

    A leaf takes its value from ``leaf_values`` (or ``given``). An inner node
    takes its ``given`` value when there is one (orders give sales even
    without traffic data), otherwise its operator over its children when all
    are known, otherwise None. Identities are not enforced here; see
    ``identity_errors``.
    """
    given = given or {}
    _check_keys(tree, leaf_values, "leaf values")
    _check_keys(tree, given, "given values")
    inner = sorted(k for k in leaf_values if not tree[k].is_leaf)
    if inner:
        raise ValueError(f"leaf values given for inner nodes {inner}; pass them as given")

    values: dict[str, float | None] = {}
    from_data: set[str] = set()
    for key in tree.post_order():
        node = tree[key]
        given_value = _clean(key, given.get(key))
        if node.is_leaf:
            leaf_value = _clean(key, leaf_values.get(key))
            values[key] = leaf_value if leaf_value is not None else given_value
            continue
        if given_value is not None:
            values[key] = given_value
            from_data.add(key)
            continue
        children = [values[c] for c in node.children]
        known = [c for c in children if c is not None]
        values[key] = apply_op(node.op, known) if len(known) == len(children) else None
    ordered = {k: values[k] for k in tree.nodes}
    return TreeValues(tree_key=tree.key, data=MappingProxyType(ordered), given=frozenset(from_data))


def identity_errors(
    tree: TreeSpec,
    values: Mapping[str, float | None],
    rel_tol: float = 1e-9,
    *,
    abs_tol: float = 0.0,
) -> list[str]:
    """Inner nodes whose value differs from their operator over their children.

    Only checked where the node and all its children are known.
    """
    errors: list[str] = []
    for key in tree.post_order():
        node = tree[key]
        value = values.get(key)
        if node.is_leaf or value is None:
            continue
        children = [values.get(c) for c in node.children]
        known = [c for c in children if c is not None]
        if len(known) != len(children):
            continue
        expected = apply_op(node.op, known)
        if not math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol):
            errors.append(key)
    return errors
