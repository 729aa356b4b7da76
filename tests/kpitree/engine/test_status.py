from __future__ import annotations

import pytest

from kpitree.engine import FUNNEL_TREE, metric_status, node_status


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        (100.0, 100.0, "green"),
        (120.0, 100.0, "green"),
        (95.0, 100.0, "amber"),  # exactly 5% short is still amber
        (96.0, 100.0, "amber"),
        (94.9, 100.0, "red"),
        (0.0, 0.0, "green"),
        (-1.0, 0.0, "red"),  # a zero target has no band
    ],
)
def test_higher_is_better(value, target, expected):
    assert metric_status(value=value, target=target) == expected


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        (0.10, 0.10, "green"),
        (0.08, 0.10, "green"),
        (0.105, 0.10, "amber"),
        (0.11, 0.10, "red"),
    ],
)
def test_lower_is_better_is_reversed(value, target, expected):
    assert metric_status(value=value, target=target, higher_is_better=False) == expected


def test_custom_tolerance_widens_the_amber_band():
    assert metric_status(value=85.0, target=100.0) == "red"
    assert metric_status(value=85.0, target=100.0, tolerance=0.2) == "amber"


@pytest.mark.parametrize(("value", "target"), [(None, 1.0), (1.0, None), (None, None)])
def test_missing_value_or_target_has_no_status(value, target):
    assert metric_status(value=value, target=target) is None


def test_negative_tolerance_is_rejected():
    with pytest.raises(ValueError, match="tolerance"):
        metric_status(value=1.0, target=1.0, tolerance=-0.1)


def test_node_status_takes_direction_from_the_node():
    node = FUNNEL_TREE["conversion"]
    assert node.higher_is_better
    assert node_status(node, value=0.039, target=0.04) == "amber"
