from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitree.engine import (
    CUSTOMER_TREE,
    FUNNEL_TREE,
    NodeSpec,
    TreeSpec,
    customer_inputs,
    decompose,
    evaluate,
    funnel_inputs,
    log_mean,
    sales_at_stake,
)
from tests.kpitree.engine.strategies import customer_measures, funnel_measures
from tests.kpitree.engine.strategies import hand_built_funnel as _funnel
from tests.kpitree.engine.strategies import hand_built_store as _store


def _spec(nodes: list[NodeSpec]) -> TreeSpec:
    return TreeSpec(key="t", name_en="T", name_zh="T", root=nodes[0].key,
                    nodes={n.key: n for n in nodes})


def _leaf(key: str) -> NodeSpec:
    return NodeSpec(key, key, key, "ratio", "leaf")


def _assert_exact(d, root0: float, root1: float) -> None:
    assert d.total_change == root1 - root0
    assert abs(d.leaf_sum - d.total_change) <= 1e-9 * max(abs(root0), abs(root1))


def test_log_mean():
    assert log_mean(60, 20) == pytest.approx(40 / math.log(3))
    assert log_mean(5, 5) == 5
    assert log_mean(1 + 1e-13, 1) == pytest.approx(1, rel=1e-15)
    with pytest.raises(ValueError):
        log_mean(0, 1)


# Additive LMDI-I, V = sum_i x1_i * x2_i * x3_i over two sub-categories.
LMDIR_TREE = _spec([
    NodeSpec("v", "V", "V", "count", "sum", ("v1", "v2")),
    NodeSpec("v1", "V1", "V1", "count", "product", ("x11", "x12", "x13")),
    _leaf("x11"), _leaf("x12"), _leaf("x13"),
    NodeSpec("v2", "V2", "V2", "count", "product", ("x21", "x22", "x23")),
    _leaf("x21"), _leaf("x22"), _leaf("x23"),
])
LMDIR_X0 = {"x11": 1.0, "x12": 10.0, "x13": 2.0, "x21": 4.0, "x22": 5.0, "x23": 3.0}
LMDIR_XT = {"x11": 4.0, "x12": 5.0, "x13": 3.0, "x21": 5.0, "x22": 6.0, "x23": 4.0}


def test_reproduces_published_additive_lmdi_figures():
    """Additive LMDI-I figures published with the LMDIR package (M. Heun, CRAN;
    tests/testthat/test_lmdi.R, ``create_simple_LMDI``), checked by hand:

    V1: 1*10*2 = 20 -> 4*5*3 = 60, L(60, 20) = 40/ln 3 = 36.40957;
        x11: 36.40957 * ln 4 = 50.47438, x12: * ln 0.5 = -25.23719, x13: * ln 1.5 = 14.76281.
    V2: 4*5*3 = 60 -> 5*6*4 = 120, L = 60/ln 2 = 86.56170;
        x21: * ln 1.25 = 19.31569, x22: * ln 1.2 = 15.78206, x23: * ln(4/3) = 24.90225.
    Total 80 -> 180 = 100; factor effects 69.79007, -9.455126, 39.66506.
    (Ang 2005, Energy Policy 33, gives the same formula: dV_xk = sum_i L(V_i^T, V_i^0)
    ln(x_ki^T / x_ki^0); its own table was not at hand to reproduce.)
    """
    d = decompose(LMDIR_TREE, evaluate(LMDIR_TREE, LMDIR_X0), evaluate(LMDIR_TREE, LMDIR_XT))
    c = d.leaf_contributions()
    published = {"x11": 50.47438029, "x12": -25.23719014, "x13": 14.76280986,
                 "x21": 19.31568569, "x22": 15.78206435, "x23": 24.90224996}
    assert c == pytest.approx(published, abs=5e-8)
    factor = [c[f"x1{k}"] + c[f"x2{k}"] for k in (1, 2, 3)]
    assert factor == pytest.approx([69.79006598, -9.455125793, 39.66505981], abs=5e-8)
    assert d.total_change == 100
    assert d.leaf_sum == pytest.approx(100, rel=1e-12)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # x11 = 0 in the base: V1 goes 0 -> 60 and the zero factor takes it all
        # (Ang, Zhang & Choi 1998, Energy 23(6), Table 2; the delta -> 0 limit of
        # Ang & Liu 2007). Sub-category 2 is unchanged from the figures above.
        ({"x0": {"x11": 0.0}}, {"x11": 60.0, "x12": 0.0, "x13": 0.0, "x21": 19.31568569,
                                "x22": 15.78206435, "x23": 24.90224996}),
        # x23 = 0 in the current period: V2 goes 60 -> 0 and x23 takes -60.
        ({"xt": {"x23": 0.0}}, {"x11": 50.47438029, "x12": -25.23719014, "x13": 14.76280986,
                                "x21": 0.0, "x22": 0.0, "x23": -60.0}),
    ],
)
def test_zero_values_follow_the_published_limits(changes, expected):
    x0 = LMDIR_X0 | changes.get("x0", {})
    xt = LMDIR_XT | changes.get("xt", {})
    v0, v1 = evaluate(LMDIR_TREE, x0), evaluate(LMDIR_TREE, xt)
    d = decompose(LMDIR_TREE, v0, v1)
    assert d.leaf_contributions() == pytest.approx(expected, abs=5e-8)
    _assert_exact(d, v0["v"], v1["v"])


PRODUCT = _spec([NodeSpec("p", "P", "P", "count", "product", ("x", "y")), _leaf("x"), _leaf("y")])


def test_node_going_from_zero_to_positive_takes_the_whole_change():
    v0 = evaluate(PRODUCT, {"x": 0.0, "y": 3.0})
    v1 = evaluate(PRODUCT, {"x": 2.0, "y": 5.0})
    d = decompose(PRODUCT, v0, v1)
    assert d.leaf_contributions() == {"x": 10.0, "y": 0.0}


def test_node_going_from_positive_to_zero_takes_the_whole_change():
    v0 = evaluate(PRODUCT, {"x": 2.0, "y": 3.0})
    v1 = evaluate(PRODUCT, {"x": 2.5, "y": 0.0})
    d = decompose(PRODUCT, v0, v1)
    assert d.leaf_contributions() == {"x": 0.0, "y": -6.0}


def test_two_factors_from_zero_share_the_change():
    tree = _spec([NodeSpec("p", "P", "P", "count", "product", ("x", "y", "z")),
                  _leaf("x"), _leaf("y"), _leaf("z")])
    d = decompose(tree, evaluate(tree, {"x": 0.0, "y": 0.0, "z": 5.0}),
                  evaluate(tree, {"x": 2.0, "y": 3.0, "z": 7.0}))
    assert d.leaf_contributions() == pytest.approx({"x": 21.0, "y": 21.0, "z": 0.0})


def test_numeric_small_delta_converges_to_the_analytic_limit():
    """Ang & Liu (2007): substitute delta for 0 and let delta -> 0. The error
    shrinks like 1/ln(1/delta), which is why the default is the exact limit."""
    v0 = evaluate(PRODUCT, {"x": 0.0, "y": 3.0})
    v1 = evaluate(PRODUCT, {"x": 2.0, "y": 5.0})
    exact = decompose(PRODUCT, v0, v1).leaf_contributions()
    errors = []
    for delta in (1e-10, 1e-20, 1e-50, 1e-100, 1e-150):
        d = decompose(PRODUCT, v0, v1, zero_delta=delta)
        approx = d.leaf_contributions()
        assert d.leaf_sum == pytest.approx(10.0, rel=1e-9)
        errors.append(abs(approx["x"] - exact["x"]) + abs(approx["y"] - exact["y"]))
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.02 * 10


def test_unchanged_zero_contributes_nothing():
    v = evaluate(PRODUCT, {"x": 0.0, "y": 3.0})
    d = decompose(PRODUCT, v, v)
    assert d.leaf_contributions() == {"x": 0.0, "y": 0.0}


def test_funnel_decomposition_of_a_hand_built_change():
    # Only visitors change: search 600 -> 1100 takes V from 1000 to 1500; every other
    # count is scaled by 1.5 too, so all rates stay put. Sales 4800 -> 7200: the whole
    # +2400 comes from visitors, and within visitors from search.
    base = _store()
    current = _store(visitors_by_channel={"search": 1100, "other": 400}, inquirers=150,
                     placers=75, inquiry_placers=30, buyers=60, orders=72, sales=7200.0,
                     units=144)
    d = decompose(FUNNEL_TREE, _funnel(base), _funnel(current))
    c = d.leaf_contributions()
    assert d.total_change == 2400
    assert c["visitors_search"] == pytest.approx(2400)
    assert sum(abs(v) for k, v in c.items() if k != "visitors_search") == pytest.approx(0, abs=1e-9)
    assert d.nodes["visitors"].contribution == pytest.approx(2400)
    assert d.cuts() == ()


def test_missing_branch_is_cut_and_flagged():
    # No inquiry data in either period: placing_rate's inquiry child is missing, so
    # placing_rate is decomposed as a leaf and its children are not decomposed.
    base = _funnel(_store(inquirers=None, inquiry_placers=None))
    current = _funnel(_store(inquirers=None, inquiry_placers=None, placers=60))
    d = decompose(FUNNEL_TREE, base, current)
    assert d.cuts() == ("placing_rate",)
    assert d.nodes["placing_rate"].is_leaf and d.nodes["placing_rate"].cut
    assert d.nodes["browse_conversion"].contribution is None
    assert d.nodes["browse_conversion"].scale is None
    assert not d.nodes["browse_conversion"].is_leaf
    _assert_exact(d, base["sales"], current["sales"])


def test_no_traffic_in_one_period_puts_the_change_on_sales():
    base = _funnel(_store(visitors_by_channel=None))
    current = _funnel(_store(sales=6000.0))
    d = decompose(FUNNEL_TREE, base, current)
    assert d.cuts() == ("sales",)
    assert d.leaf_contributions() == {"sales": 1200.0}


def test_missing_root_cannot_be_decomposed():
    with pytest.raises(ValueError, match="missing"):
        decompose(PRODUCT, evaluate(PRODUCT, {"x": 1.0}), evaluate(PRODUCT, {"x": 1.0, "y": 1.0}))


def test_negative_factor_is_rejected():
    with pytest.raises(ValueError, match="negative"):
        decompose(PRODUCT, evaluate(PRODUCT, {"x": -1.0, "y": 1.0}),
                  evaluate(PRODUCT, {"x": 1.0, "y": 1.0}))


@settings(max_examples=300, deadline=None)
@given(funnel_measures(), funnel_measures())
def test_funnel_leaves_add_up_to_the_change(m0, m1):
    v0, v1 = _funnel(m0), _funnel(m1)
    _assert_exact(decompose(FUNNEL_TREE, v0, v1), v0["sales"], v1["sales"])


@settings(max_examples=300, deadline=None)
@given(customer_measures(), customer_measures())
def test_customer_leaves_add_up_to_the_change(m0, m1):
    v0 = evaluate(CUSTOMER_TREE, *customer_inputs(m0))
    v1 = evaluate(CUSTOMER_TREE, *customer_inputs(m1))
    _assert_exact(decompose(CUSTOMER_TREE, v0, v1), v0["sales"], v1["sales"])


values_with_zeros = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e3))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values_with_zeros, values_with_zeros), min_size=21, max_size=21))
def test_funnel_leaf_values_with_zeros_add_up(pairs):
    leaves = FUNNEL_TREE.leaves()
    v0 = evaluate(FUNNEL_TREE, {k: p[0] for k, p in zip(leaves, pairs, strict=False)})
    v1 = evaluate(FUNNEL_TREE, {k: p[1] for k, p in zip(leaves, pairs, strict=False)})
    _assert_exact(decompose(FUNNEL_TREE, v0, v1), v0["sales"], v1["sales"])


def _shapes() -> st.SearchStrategy:
    return st.recursive(
        st.just("leaf"),
        lambda inner: st.tuples(st.sampled_from(["sum", "product"]),
                                st.lists(inner, min_size=1, max_size=3)),
        max_leaves=12,
    )


def _build(shape, nodes: list[NodeSpec]) -> str:
    key = f"n{len(nodes)}"
    if shape == "leaf":
        nodes.append(_leaf(key))
        return key
    op, children = shape
    nodes.append(NodeSpec(key, key, key, "ratio", "leaf"))  # placeholder keeps display order
    index = len(nodes) - 1
    child_keys = tuple(_build(child, nodes) for child in children)
    nodes[index] = NodeSpec(key, key, key, "ratio", op, child_keys)
    return key


@settings(max_examples=500, deadline=None)
@given(_shapes(), st.data())
def test_random_trees_with_zeros_add_up_exactly(shape, data):
    nodes: list[NodeSpec] = []
    _build(shape, nodes)
    tree = _spec(nodes)
    leaves = tree.leaves()
    v0 = evaluate(tree, {k: data.draw(values_with_zeros) for k in leaves})
    v1 = evaluate(tree, {k: data.draw(values_with_zeros) for k in leaves})
    d = decompose(tree, v0, v1)
    _assert_exact(d, v0[tree.root], v1[tree.root])
    assert all(math.isfinite(n.contribution) for n in d.nodes.values())


def test_sales_at_stake_along_products_and_sums():
    m = _store()
    leaves, given_values = funnel_inputs(m)
    # conversion 0.04 -> 0.05: sales 4800 * 0.05 / 0.04 = 6000
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "conversion", 0.05) == pytest.approx(6000)
    # payment 0.8 -> 0.9: conversion 0.045, sales 5400
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "payment_rate", 0.9) == pytest.approx(5400)
    # inquiry conversion 0.2 -> 0.3: inquiry path 0.03, placing 0.06, conversion 0.048, 5760
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "inquiry_conversion", 0.3) == \
        pytest.approx(5760)
    # search visitors 600 -> 700: V 1100, sales 4800 * 1.1 = 5280
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "visitors_search", 700) == \
        pytest.approx(5280)
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "sales", 5000) == 5000
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "frequency", None) is None


def test_sales_at_stake_without_traffic_uses_the_given_sales():
    leaves, given_values = funnel_inputs(_store(visitors_by_channel=None))
    # frequency 1.2 -> 1.5: 4800 * 1.5 / 1.2 = 6000, although visitors are unknown
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "frequency", 1.5) == pytest.approx(6000)
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "visitors_search", 700) is None


def test_sales_at_stake_from_a_zero_metric_recomputes_from_siblings():
    # No inquirer placed: inquiry conversion 0 -> 0.2 gives inquiry path 0.1 * 0.2 = 0.02,
    # placing 0.03 + 0.02 = 0.05 (was 0.03), sales 4800 * 0.05 / 0.03 = 8000.
    m = _store(placers=30, inquiry_placers=0, buyers=24, orders=48, units=96)
    leaves, given_values = funnel_inputs(m)
    assert sales_at_stake(FUNNEL_TREE, leaves, given_values, "inquiry_conversion", 0.2) == \
        pytest.approx(8000)


def test_sales_at_stake_in_the_customer_tree():
    m_leaves, m_given = customer_inputs(_customer())
    # won-back rate 0.005 -> 0.01 doubles won-back sales 250 -> 500: total 6250 + 250
    assert sales_at_stake(CUSTOMER_TREE, m_leaves, m_given, "rate_won_back", 0.01) == \
        pytest.approx(6500)


def _customer():
    from kpitree.engine import CustomerMeasures, SegmentMeasures

    return CustomerMeasures(visitors=1000, segments={
        "new": SegmentMeasures(buyers=20, orders=22, sales=2200.0),
        "nurtured": SegmentMeasures(buyers=10, orders=10, sales=800.0, base=200),
        "active": SegmentMeasures(buyers=25, orders=40, sales=3000.0, base=500),
        "won_back": SegmentMeasures(buyers=5, orders=5, sales=250.0, base=1000),
    })
