"""Traffic-light status of a metric against its target or base (DOMAIN.md section 4)."""

from __future__ import annotations

from typing import Literal

from kpitree.engine.tree import NodeSpec

Status = Literal["green", "amber", "red"]
DEFAULT_TOLERANCE = 0.05


def metric_status(
    *,
    value: float | None,
    target: float | None,
    higher_is_better: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Status | None:
    """Green at or better than target, amber within ``tolerance`` (a share of
    the target) short of it, red beyond; None when either value is missing."""
    if value is None or target is None:
        return None
    if tolerance < 0:
        raise ValueError("tolerance must not be negative")
    shortfall = target - value if higher_is_better else value - target
    if shortfall <= 0:
        return "green"
    # The band is relative to the target's size, so a zero target has no band.
    if shortfall <= tolerance * abs(target):
        return "amber"
    return "red"


def node_status(
    node: NodeSpec,
    *,
    value: float | None,
    target: float | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Status | None:
    """``metric_status`` with the direction taken from the node."""
    return metric_status(value=value, target=target,
                         higher_is_better=node.higher_is_better, tolerance=tolerance)
