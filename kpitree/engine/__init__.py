"""The KPI tree engine: pure Python, no Django (DOMAIN.md sections 3 and 4)."""

from __future__ import annotations

from kpitree.engine.decompose import (
    Decomposition,
    NodeChange,
    decompose,
    log_mean,
    sales_at_stake,
)
from kpitree.engine.status import DEFAULT_TOLERANCE, Status, metric_status, node_status
from kpitree.engine.tree import (
    Department,
    NodeSpec,
    Op,
    TreeError,
    TreeSpec,
    TreeValues,
    Unit,
    evaluate,
    identity_errors,
)
from kpitree.engine.trees import (
    CHANNELS,
    CUSTOMER_TREE,
    DEFAULT_TREES,
    FUNNEL_TREE,
    SEGMENTS,
    CustomerMeasures,
    FunnelMeasures,
    SegmentMeasures,
    customer_inputs,
    funnel_inputs,
    ratio,
)

__all__ = [
    "CHANNELS",
    "CUSTOMER_TREE",
    "DEFAULT_TOLERANCE",
    "DEFAULT_TREES",
    "FUNNEL_TREE",
    "SEGMENTS",
    "CustomerMeasures",
    "Decomposition",
    "Department",
    "FunnelMeasures",
    "NodeChange",
    "NodeSpec",
    "Op",
    "SegmentMeasures",
    "Status",
    "TreeError",
    "TreeSpec",
    "TreeValues",
    "Unit",
    "customer_inputs",
    "decompose",
    "evaluate",
    "funnel_inputs",
    "identity_errors",
    "log_mean",
    "metric_status",
    "node_status",
    "ratio",
    "sales_at_stake",
]
