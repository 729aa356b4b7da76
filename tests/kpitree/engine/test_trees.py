from __future__ import annotations

import pytest
from hypothesis import given, settings

from kpitree.engine import (
    CUSTOMER_TREE,
    FUNNEL_TREE,
    SEGMENTS,
    CustomerMeasures,
    SegmentMeasures,
    customer_inputs,
    evaluate,
    identity_errors,
)
from tests.kpitree.engine.strategies import customer_measures, funnel_measures
from tests.kpitree.engine.strategies import hand_built_funnel as _funnel
from tests.kpitree.engine.strategies import hand_built_store as _store

FUNNEL_KEYS = [
    "sales", "visitors", "visitors_search", "visitors_cps", "visitors_community", "visitors_ads",
    "visitors_activity", "visitors_other", "conversion", "placing_rate", "browse_path",
    "browse_share", "browse_conversion", "inquiry_path", "inquiry_rate", "inquiry_conversion",
    "payment_rate", "frequency", "order_value", "items_per_order", "item_price",
]


def test_funnel_tree_has_the_domain_keys():
    assert list(FUNNEL_TREE.nodes) == FUNNEL_KEYS
    assert FUNNEL_TREE.root == "sales"
    assert FUNNEL_TREE["sales"].children == ("visitors", "conversion", "frequency", "order_value")
    assert FUNNEL_TREE["placing_rate"].op == "sum"
    assert FUNNEL_TREE["browse_path"].children == ("browse_share", "browse_conversion")


def test_customer_tree_has_the_domain_keys():
    expected = {"sales", "visitors", "new_buyer_conversion"}
    for g in SEGMENTS:
        expected |= {f"sales_{g}", f"buyers_{g}", f"spend_per_buyer_{g}", f"frequency_{g}",
                     f"order_value_{g}"}
        if g != "new":
            expected |= {f"base_{g}", f"rate_{g}"}
    assert set(CUSTOMER_TREE.nodes) == expected
    assert CUSTOMER_TREE["buyers_new"].children == ("visitors", "new_buyer_conversion")
    assert CUSTOMER_TREE["buyers_active"].children == ("base_active", "rate_active")


@pytest.mark.parametrize("tree", [FUNNEL_TREE, CUSTOMER_TREE])
def test_every_node_is_named_in_both_languages_and_owned_sensibly(tree):
    for node in tree.nodes.values():
        assert node.name_en and node.name_zh
        assert node.higher_is_better
        assert node.stage is None or 1 <= node.stage <= 7
    stages = {n.stage for n in tree.nodes.values()} - {None}
    assert stages <= set(range(1, 8))


def test_stage_owners_follow_the_domain():
    assert FUNNEL_TREE["visitors"].department == "promotion" and FUNNEL_TREE["visitors"].stage == 1
    assert FUNNEL_TREE["browse_conversion"].stage == 2
    assert FUNNEL_TREE["inquiry_conversion"].department == "customer_service"
    assert FUNNEL_TREE["payment_rate"].stage == 4
    assert CUSTOMER_TREE["rate_nurtured"].stage == 5
    assert CUSTOMER_TREE["rate_active"].stage == 6
    assert CUSTOMER_TREE["rate_won_back"].stage == 7
    assert CUSTOMER_TREE["rate_won_back"].department == "crm"


def test_hand_built_store_funnel_node_by_node():
    # V = 600 + 400 = 1000, I = 100, Placers = 50 (20 of them inquired), B = 40,
    # O = 48, S = 4800, Units = 96.
    # browse_share = (1000 - 100) / 1000 = 0.9; browse_conversion = (50 - 20) / 900 = 1/30
    # browse_path = 0.9 * 1/30 = 0.03;   inquiry_rate = 0.1; inquiry_conversion = 20/100 = 0.2
    # inquiry_path = 0.02;  placing_rate = 0.03 + 0.02 = 0.05 = 50/1000
    # payment_rate = 40/50 = 0.8;  conversion = 0.05 * 0.8 = 0.04 = 40/1000
    # frequency = 48/40 = 1.2;  items_per_order = 96/48 = 2;  item_price = 4800/96 = 50
    # order_value = 2 * 50 = 100 = 4800/48;  sales = 1000 * 0.04 * 1.2 * 100 = 4800
    values = _funnel(_store())
    expected = {
        "sales": 4800, "visitors": 1000, "visitors_search": 600, "visitors_cps": 0,
        "visitors_community": 0, "visitors_ads": 0, "visitors_activity": 0,
        "visitors_other": 400, "conversion": 0.04, "placing_rate": 0.05, "browse_path": 0.03,
        "browse_share": 0.9, "browse_conversion": 1 / 30, "inquiry_path": 0.02,
        "inquiry_rate": 0.1, "inquiry_conversion": 0.2, "payment_rate": 0.8, "frequency": 1.2,
        "order_value": 100, "items_per_order": 2, "item_price": 50,
    }
    assert dict(values) == pytest.approx(expected, rel=1e-12)
    assert identity_errors(FUNNEL_TREE, values) == []


def test_hand_built_store_customer_tree_node_by_node():
    # new:      V = 1000, 20 buyers, 22 orders, 2200 -> conversion 0.02, freq 1.1, AOV 100,
    #           spend 110, sales 20 * 110 = 2200
    # nurtured: base 200, 10 buyers, 10 orders, 800 -> rate 0.05, freq 1, AOV 80, sales 800
    # active:   base 500, 25 buyers, 40 orders, 3000 -> rate 0.05, freq 1.6, AOV 75,
    #           spend 1.6 * 75 = 120, sales 25 * 120 = 3000
    # won_back: base 1000, 5 buyers, 5 orders, 250 -> rate 0.005, freq 1, AOV 50, sales 250
    # total sales 2200 + 800 + 3000 + 250 = 6250
    m = CustomerMeasures(visitors=1000, segments={
        "new": SegmentMeasures(buyers=20, orders=22, sales=2200.0),
        "nurtured": SegmentMeasures(buyers=10, orders=10, sales=800.0, base=200),
        "active": SegmentMeasures(buyers=25, orders=40, sales=3000.0, base=500),
        "won_back": SegmentMeasures(buyers=5, orders=5, sales=250.0, base=1000),
    })
    values = evaluate(CUSTOMER_TREE, *customer_inputs(m))
    assert values["sales"] == 6250
    assert values["new_buyer_conversion"] == pytest.approx(0.02)
    assert values["spend_per_buyer_new"] == pytest.approx(110)
    assert values["rate_active"] == pytest.approx(0.05)
    assert values["frequency_active"] == pytest.approx(1.6)
    assert values["order_value_active"] == pytest.approx(75)
    assert values["spend_per_buyer_active"] == pytest.approx(120)
    assert values["rate_won_back"] == pytest.approx(0.005)
    assert values["sales_nurtured"] == 800
    assert identity_errors(CUSTOMER_TREE, values) == []


def test_no_traffic_keeps_sales_and_order_side_known():
    values = _funnel(_store(visitors_by_channel=None))
    assert values["sales"] == 4800
    assert values["frequency"] == pytest.approx(1.2)
    assert values["order_value"] == pytest.approx(100)
    assert values["payment_rate"] == pytest.approx(0.8)
    for key in ("visitors", "visitors_search", "conversion", "placing_rate", "browse_path",
                "browse_share", "browse_conversion", "inquiry_path", "inquiry_rate"):
        assert values[key] is None, key
    # Inquiry conversion needs no visitors.
    assert values["inquiry_conversion"] == pytest.approx(0.2)
    assert "sales" in values.given
    assert identity_errors(FUNNEL_TREE, values) == []


def test_no_traffic_customer_tree_keeps_new_buyers():
    m = CustomerMeasures(visitors=None, segments={
        g: SegmentMeasures(buyers=4, orders=4, sales=40.0, base=None if g == "new" else 10)
        for g in SEGMENTS
    })
    values = evaluate(CUSTOMER_TREE, *customer_inputs(m))
    assert values["buyers_new"] == 4
    assert values["visitors"] is None and values["new_buyer_conversion"] is None
    assert values["sales"] == 160


def test_no_inquiry_data_folds_into_browse_conversion():
    values = _funnel(_store(inquirers=None, inquiry_placers=None))
    assert values["browse_share"] == 1.0
    assert values["browse_conversion"] == pytest.approx(50 / 1000)
    assert values["browse_path"] == pytest.approx(0.05)
    assert values["placing_rate"] == pytest.approx(0.05)
    for key in ("inquiry_path", "inquiry_rate", "inquiry_conversion"):
        assert values[key] is None, key
    assert values["conversion"] == pytest.approx(0.04)
    assert identity_errors(FUNNEL_TREE, values) == []


def test_inquirers_without_inquiry_placers_count_zero_placers():
    values = _funnel(_store(inquiry_placers=None))
    assert values["inquiry_conversion"] == 0
    assert values["browse_conversion"] == pytest.approx(50 / 900)


def test_division_by_zero_is_missing_not_infinite():
    values = _funnel(_store(visitors_by_channel={}, inquirers=0, placers=0, inquiry_placers=0,
                            buyers=0, orders=0, sales=0.0, units=0))
    assert values["visitors"] == 0
    assert values["sales"] == 0
    for key in ("conversion", "payment_rate", "frequency", "order_value", "item_price"):
        assert values[key] is None, key


@pytest.mark.parametrize(
    "overrides",
    [
        {"buyers": 51},
        {"inquiry_placers": 51},
        {"inquiry_placers": 101, "placers": 200, "buyers": 40},
        {"inquirers": 1001},
        {"buyers": 40, "orders": 39},
        {"visitors_by_channel": {"tv": 5}},
        {"sales": -1.0},
    ],
)
def test_inconsistent_measures_are_rejected(overrides):
    with pytest.raises(ValueError):
        _store(**overrides)


def test_inconsistent_segments_are_rejected():
    with pytest.raises(ValueError):
        SegmentMeasures(buyers=5, orders=5, sales=1.0, base=4)
    with pytest.raises(ValueError):
        CustomerMeasures(visitors=1, segments={"new": SegmentMeasures(1, 1, 1.0)})
    with pytest.raises(ValueError):
        CustomerMeasures(visitors=1, segments={
            g: SegmentMeasures(1, 1, 1.0, base=1) for g in SEGMENTS
        })


@settings(max_examples=400, deadline=None)
@given(funnel_measures())
def test_funnel_identities_hold_for_any_consistent_store(m):
    values = _funnel(m)
    assert identity_errors(FUNNEL_TREE, values) == []
    assert values["sales"] == m.sales


@settings(max_examples=200, deadline=None)
@given(funnel_measures(traffic=True, inquiry=True))
def test_full_funnel_data_is_fully_known_when_nothing_is_zero(m):
    values = _funnel(m)
    has_zero = min(m.visitors or 0, m.inquirers or 0, m.buyers, m.units,
                   (m.visitors or 0) - (m.inquirers or 0)) == 0
    if not has_zero:
        assert all(v is not None for v in values.values())
    assert values["conversion"] is None or values["conversion"] == pytest.approx(
        m.buyers / m.visitors, rel=1e-12)


@settings(max_examples=400, deadline=None)
@given(customer_measures())
def test_customer_identities_hold_for_any_consistent_store(m):
    values = evaluate(CUSTOMER_TREE, *customer_inputs(m))
    assert identity_errors(CUSTOMER_TREE, values) == []
    for g in SEGMENTS:
        assert values[f"buyers_{g}"] == m.segments[g].buyers
