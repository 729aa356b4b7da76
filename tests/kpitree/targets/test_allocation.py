"""Top-down allocation: the identities hold on the proposed targets and the
root is the sales target, for every rule and after any adjustment."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpitree.engine import FUNNEL_TREE, evaluate, identity_errors
from kpitree.targets.allocation import RULES, AllocationError, allocate, recent_values

LEAVES = FUNNEL_TREE.leaves()
INNER = tuple(k for k in FUNNEL_TREE.nodes if k != "sales")


def _recent() -> dict[str, float]:
    leaves = {f"visitors_{c}": v for c, v in zip(
        ("search", "cps", "community", "ads", "activity", "other"),
        (4000.0, 1500.0, 800.0, 1200.0, 600.0, 2000.0), strict=True)}
    return leaves | {"browse_share": 0.9, "browse_conversion": 0.03, "inquiry_rate": 0.1,
                     "inquiry_conversion": 0.25, "payment_rate": 0.85, "frequency": 1.1,
                     "items_per_order": 1.6, "item_price": 80.0}


leaf_value = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)
leaves_st = st.fixed_dictionaries(dict.fromkeys(LEAVES, leaf_value))
positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False)
ratio_st = st.floats(min_value=0.2, max_value=5.0)


def _assert_exact(targets: dict[str, float | None], sales_target: float) -> None:
    assert targets["sales"] == sales_target
    assert all(v is not None and v >= 0 for v in targets.values())
    assert identity_errors(FUNNEL_TREE, targets, rel_tol=1e-9) == []
    # Evaluating the tree from the proposed leaves gives the sales target back.
    leaves = {k: targets[k] for k in LEAVES}
    assert math.isclose(evaluate(FUNNEL_TREE, leaves)["sales"] or 0.0, sales_target, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(leaves=leaves_st, growth=ratio_st, rule=st.sampled_from(RULES),
       volatility=st.dictionaries(st.sampled_from(LEAVES + INNER), positive),
       peers=st.dictionaries(st.sampled_from(LEAVES + INNER), positive))
def test_allocation_is_exact_for_every_rule(
    leaves: dict[str, float], growth: float, rule: str, volatility: dict[str, float],
    peers: dict[str, float],
) -> None:
    recent = recent_values(FUNNEL_TREE, leaves)
    sales_target = (recent["sales"] or 0.0) * growth
    assume(sales_target > 0)
    result = allocate(FUNNEL_TREE, leaves, sales_target, rule,  # type: ignore[arg-type]
                      volatility=volatility, peers=peers)
    _assert_exact(dict(result.targets), sales_target)


@settings(max_examples=200, deadline=None)
@given(leaves=leaves_st, growth=ratio_st, rule=st.sampled_from(RULES),
       node=st.sampled_from(INNER), node_growth=ratio_st)
def test_adjusting_any_node_keeps_it_and_rebalances_the_rest_exactly(
    leaves: dict[str, float], growth: float, rule: str, node: str, node_growth: float,
) -> None:
    recent = recent_values(FUNNEL_TREE, leaves)
    sales_target = (recent["sales"] or 0.0) * growth
    first = allocate(FUNNEL_TREE, leaves, sales_target, rule)  # type: ignore[arg-type]
    manager_value = (first.targets[node] or 0.0) * node_growth
    try:
        result = allocate(FUNNEL_TREE, leaves, sales_target, rule,  # type: ignore[arg-type]
                          fixed={node: manager_value})
    except AllocationError:
        # Only a sum can refuse: its fixed part would exceed the whole.
        parent = FUNNEL_TREE.parent(node)
        assert parent is not None and FUNNEL_TREE[parent].op == "sum"
        return
    assert result.targets[node] == manager_value
    _assert_exact(dict(result.targets), sales_target)


def test_equal_rule_spreads_growth_evenly_over_the_root_factors() -> None:
    leaves = _recent()
    recent = recent_values(FUNNEL_TREE, leaves)
    result = allocate(FUNNEL_TREE, leaves, (recent["sales"] or 0) * 1.21, "equal")
    for factor in ("visitors", "conversion", "frequency", "order_value"):
        assert result.growth(factor) == pytest.approx(1.21 ** 0.25)
    # A sum node scales its children proportionally: every channel grows alike.
    assert result.growth("visitors_search") == pytest.approx(result.growth("visitors_ads") or 0)


def test_volatility_rule_gives_the_volatile_factor_more_of_the_growth() -> None:
    leaves = _recent()
    recent = recent_values(FUNNEL_TREE, leaves)
    result = allocate(FUNNEL_TREE, leaves, (recent["sales"] or 0) * 1.5, "volatility",
                      volatility={"visitors": 0.6, "conversion": 0.2, "frequency": 0.1,
                                  "order_value": 0.1})
    assert result.growth("visitors") == pytest.approx(1.5 ** 0.6)
    assert result.growth("order_value") == pytest.approx(1.5 ** 0.1)


def test_headroom_rule_follows_the_gap_to_peers() -> None:
    leaves = _recent()
    recent = recent_values(FUNNEL_TREE, leaves)
    peers = {"visitors": (recent["visitors"] or 0) * 1.3,       # 30% headroom
             "conversion": (recent["conversion"] or 0) * 1.1}   # 10% headroom
    result = allocate(FUNNEL_TREE, leaves, (recent["sales"] or 0) * 1.2, "headroom", peers=peers)
    total = 0.3 + 0.1 + 0.01 + 0.01  # no peer value: the small weight
    assert result.growth("visitors") == pytest.approx(1.2 ** (0.3 / total))
    assert result.growth("frequency") == pytest.approx(1.2 ** (0.01 / total))


def test_fixing_a_leaf_moves_its_ancestors_and_the_other_factors_absorb_it() -> None:
    leaves = _recent()
    recent = recent_values(FUNNEL_TREE, leaves)
    sales_target = (recent["sales"] or 0) * 1.2
    before = allocate(FUNNEL_TREE, leaves, sales_target, "equal")
    after = allocate(FUNNEL_TREE, leaves, sales_target, "equal",
                     fixed={"item_price": (before.targets["item_price"] or 0) * 1.1})
    assert (after.targets["order_value"] or 0) > (before.targets["order_value"] or 0)
    assert (after.targets["visitors"] or 0) < (before.targets["visitors"] or 0)
    _assert_exact(dict(after.targets), sales_target)


def test_two_nested_fixed_nodes_are_both_kept() -> None:
    leaves = _recent()
    recent = recent_values(FUNNEL_TREE, leaves)
    fixed = {"conversion": (recent["conversion"] or 0) * 1.1,
             "payment_rate": 0.9, "visitors_search": 5000.0}
    result = allocate(FUNNEL_TREE, leaves, (recent["sales"] or 0) * 1.3, "equal", fixed=fixed)
    for key, value in fixed.items():
        assert result.targets[key] == value
    _assert_exact(dict(result.targets), (recent["sales"] or 0) * 1.3)


def test_missing_inquiry_data_leaves_that_branch_out_and_stays_exact() -> None:
    leaves: dict[str, float | None] = dict(_recent())
    leaves |= {"browse_share": 1.0, "inquiry_rate": None, "inquiry_conversion": None}
    result = allocate(FUNNEL_TREE, leaves, 1e6, "equal")
    assert result.targets["inquiry_path"] is None
    assert result.targets["sales"] == 1e6
    assert identity_errors(FUNNEL_TREE, result.targets, rel_tol=1e-9) == []
    assert result.targets["placing_rate"] == result.targets["browse_path"]


def test_impossible_requests_are_refused() -> None:
    leaves = _recent()
    with pytest.raises(AllocationError):
        allocate(FUNNEL_TREE, leaves, -5.0)
    with pytest.raises(AllocationError):
        allocate(FUNNEL_TREE, leaves | {"payment_rate": None}, 1e6)
    with pytest.raises(AllocationError):  # one channel alone above all visitors
        allocate(FUNNEL_TREE, leaves, 1e3, fixed={"visitors_search": 1e9})
