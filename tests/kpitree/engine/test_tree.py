from __future__ import annotations

import math
import subprocess
import sys

import pytest

from kpitree.engine import NodeSpec, TreeError, TreeSpec, TreeValues, evaluate, identity_errors


def _spec(nodes: list[NodeSpec], root: str = "s") -> TreeSpec:
    return TreeSpec(key="t", name_en="T", name_zh="T", root=root, nodes={n.key: n for n in nodes})


def _small_tree() -> TreeSpec:
    # s = a * b, a = x + y
    return _spec([
        NodeSpec("s", "S", "S", "money", "product", ("a", "b")),
        NodeSpec("a", "A", "A", "count", "sum", ("x", "y")),
        NodeSpec("x", "X", "X", "count", "leaf"),
        NodeSpec("y", "Y", "Y", "count", "leaf"),
        NodeSpec("b", "B", "B", "money", "leaf"),
    ])


def test_evaluate_computes_bottom_up():
    values = evaluate(_small_tree(), {"x": 2.0, "y": 3.0, "b": 10.0})
    assert isinstance(values, TreeValues)
    assert dict(values) == {"s": 50.0, "a": 5.0, "x": 2.0, "y": 3.0, "b": 10.0}
    assert list(values) == ["s", "a", "x", "y", "b"]  # display order
    assert values.given == frozenset()


def test_missing_child_leaves_parent_missing_never_zero():
    values = evaluate(_small_tree(), {"x": 2.0, "b": 10.0})
    assert values["y"] is None
    assert values["a"] is None
    assert values["s"] is None


def test_given_value_survives_missing_children():
    values = evaluate(_small_tree(), {"b": 10.0}, {"s": 70.0})
    assert values["s"] == 70.0
    assert values["a"] is None and values["x"] is None
    assert values.given == frozenset({"s"})
    assert not values.known("a")


def test_nan_means_missing():
    values = evaluate(_small_tree(), {"x": float("nan"), "y": 1.0, "b": 2.0})
    assert values["x"] is None and values["s"] is None


def test_infinite_input_is_rejected():
    with pytest.raises(ValueError, match="infinite"):
        evaluate(_small_tree(), {"x": math.inf})


def test_unknown_keys_and_inner_leaf_values_are_rejected():
    with pytest.raises(ValueError, match="not in tree"):
        evaluate(_small_tree(), {"z": 1.0})
    with pytest.raises(ValueError, match="not in tree"):
        evaluate(_small_tree(), {}, {"z": 1.0})
    with pytest.raises(ValueError, match="inner nodes"):
        evaluate(_small_tree(), {"a": 1.0})


def test_identity_errors_names_broken_nodes_only_where_children_known():
    tree = _small_tree()
    assert identity_errors(tree, evaluate(tree, {"x": 2.0, "y": 3.0, "b": 10.0}, {"s": 50.0})) == []
    assert identity_errors(tree, evaluate(tree, {"x": 2.0, "y": 3.0, "b": 10.0}, {"s": 51.0})) == ["s"]
    # Children unknown: nothing to check.
    assert identity_errors(tree, evaluate(tree, {"b": 10.0}, {"s": 51.0})) == []
    # Within tolerance.
    assert identity_errors(tree, {"s": 50.0 * (1 + 1e-12), "a": 5.0, "x": 2.0, "y": 3.0, "b": 10.0}) == []


def test_tree_structure_helpers():
    tree = _small_tree()
    assert tree.post_order() == ("x", "y", "a", "b", "s")
    assert tree.ancestors("x") == ("a", "s")
    assert tree.parent("s") is None
    assert tree.leaves() == ("x", "y", "b")


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([NodeSpec("s", "S", "S", "money", "sum", ("a",))], "not a node"),
        ([NodeSpec("s", "S", "S", "money", "sum", ("a",)),
          NodeSpec("a", "A", "A", "count", "sum", ("s",))], "root"),
        ([NodeSpec("s", "S", "S", "money", "sum", ("a", "b")),
          NodeSpec("a", "A", "A", "count", "sum", ("b",)),
          NodeSpec("b", "B", "B", "count", "leaf")], "two parents"),
        ([NodeSpec("s", "S", "S", "money", "sum", ("a",)),
          NodeSpec("a", "A", "A", "count", "leaf"),
          NodeSpec("z", "Z", "Z", "count", "leaf")], "root"),
        ([NodeSpec("s", "S", "S", "money", "sum", ("a",)),
          NodeSpec("a", "A", "A", "count", "sum", ("b",)),
          NodeSpec("b", "B", "B", "count", "sum", ("a",))], "two parents|cycle|root"),
    ],
)
def test_malformed_trees_are_rejected(nodes, message):
    with pytest.raises(TreeError, match=message):
        _spec(nodes)


def test_cycle_without_extra_parent_is_rejected():
    # a <-> b form a cycle detached from the root: the root check catches it.
    with pytest.raises(TreeError):
        _spec([
            NodeSpec("s", "S", "S", "money", "leaf"),
            NodeSpec("a", "A", "A", "count", "sum", ("b",)),
            NodeSpec("b", "B", "B", "count", "sum", ("a",)),
        ])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"op": "leaf", "children": ("x",)},
        {"op": "sum", "children": ()},
        {"op": "product", "children": ()},
        {"op": "avg", "children": ("x",)},
        {"op": "leaf", "unit": "euro"},
        {"op": "leaf", "stage": 8},
        {"op": "leaf", "department": "finance"},
        {"op": "sum", "children": ("x", "x")},
    ],
)
def test_bad_node_specs_are_rejected(kwargs):
    fields = {"key": "n", "name_en": "N", "name_zh": "N", "unit": "count"} | kwargs
    with pytest.raises(TreeError):
        NodeSpec(**fields)


def test_engine_imports_no_django():
    code = "import sys, kpitree.engine; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
