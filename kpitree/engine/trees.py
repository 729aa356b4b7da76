"""The two default trees of DOMAIN.md section 3, and how raw counts feed them.

Rates are computed from raw counts here, once, so that every identity of the
tree holds by construction; a division by zero gives None (missing), never inf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kpitree.engine.tree import Department, NodeSpec, TreeSpec

CHANNELS: tuple[str, ...] = ("search", "cps", "community", "ads", "activity", "other")
SEGMENTS: tuple[str, ...] = ("new", "nurtured", "active", "won_back")

Inputs = tuple[dict[str, float | None], dict[str, float | None]]

_CHANNEL_NAMES: dict[str, tuple[str, str]] = {
    "search": ("Search promotion visitors", "搜索推广访客数"),
    "cps": ("Affiliate (CPS) visitors", "社区CPS推广访客数"),
    "community": ("Community visitors", "社区互动推广访客数"),
    "ads": ("Display ad visitors", "硬广访客数"),
    "activity": ("Activity and group-buy visitors", "活动和团购访客数"),
    "other": ("Organic and other visitors", "自然及其他访客数"),
}

_SEGMENT_NAMES: dict[str, tuple[str, str]] = {
    "new": ("new customers", "新客"),
    "nurtured": ("nurtured customers", "新客培养"),
    "active": ("active customers", "活跃老客"),
    "won_back": ("won-back customers", "流失挽回"),
}
# Stage and owner of each lifecycle segment (DOMAIN.md section 2).
_SEGMENT_STAGE: dict[str, tuple[int, Department]] = {
    "new": (1, "promotion"),
    "nurtured": (5, "crm"),
    "active": (6, "crm"),
    "won_back": (7, "crm"),
}
_SEGMENT_RATE_NAMES: dict[str, tuple[str, str]] = {
    "nurtured": ("Second-purchase rate", "二次购买率"),
    "active": ("Repurchase rate", "复购率"),
    "won_back": ("Win-back rate", "挽回率"),
}


def _tree(key: str, name_en: str, name_zh: str, nodes: list[NodeSpec]) -> TreeSpec:
    return TreeSpec(key=key, name_en=name_en, name_zh=name_zh, root=nodes[0].key,
                    nodes={n.key: n for n in nodes})


def _funnel_nodes() -> list[NodeSpec]:
    channel_keys = tuple(f"visitors_{c}" for c in CHANNELS)
    return [
        NodeSpec("sales", "Sales", "销售额", "money", "product",
                 ("visitors", "conversion", "frequency", "order_value")),
        NodeSpec("visitors", "Visitors", "访客数", "count", "sum", channel_keys,
                 stage=1, department="promotion"),
        *(NodeSpec(f"visitors_{c}", *_CHANNEL_NAMES[c], "count", "leaf",
                   stage=1, department="promotion") for c in CHANNELS),
        # Conversion spans stages 2-4; the source gives conversion to the storefront.
        NodeSpec("conversion", "Conversion rate", "转化率", "rate", "product",
                 ("placing_rate", "payment_rate"), department="storefront"),
        NodeSpec("placing_rate", "Order placing rate", "下单率", "rate", "sum",
                 ("browse_path", "inquiry_path")),
        NodeSpec("browse_path", "Browse path", "静默下单率", "rate", "product",
                 ("browse_share", "browse_conversion"), stage=2, department="storefront"),
        NodeSpec("browse_share", "Browse-only share", "静默访客占比", "rate", "leaf",
                 stage=2, department="storefront"),
        NodeSpec("browse_conversion", "Browse conversion", "浏览转化率", "rate", "leaf",
                 stage=2, department="storefront"),
        NodeSpec("inquiry_path", "Inquiry path", "询单下单率", "rate", "product",
                 ("inquiry_rate", "inquiry_conversion"), stage=3, department="customer_service"),
        NodeSpec("inquiry_rate", "Inquiry rate", "询单率", "rate", "leaf",
                 stage=3, department="customer_service"),
        NodeSpec("inquiry_conversion", "Inquiry conversion", "询单转化率", "rate", "leaf",
                 stage=3, department="customer_service"),
        NodeSpec("payment_rate", "Payment rate", "付款率", "rate", "leaf",
                 stage=4, department="customer_service"),
        NodeSpec("frequency", "Purchase frequency", "购买频次", "ratio", "leaf",
                 stage=6, department="crm"),
        NodeSpec("order_value", "Average order value", "订单价", "money", "product",
                 ("items_per_order", "item_price"), stage=2, department="storefront"),
        NodeSpec("items_per_order", "Items per order", "每单件数", "ratio", "leaf",
                 stage=2, department="storefront"),
        NodeSpec("item_price", "Average item price", "件单价", "money", "leaf",
                 stage=2, department="storefront"),
    ]


def _segment_nodes(g: str) -> list[NodeSpec]:
    en, zh = _SEGMENT_NAMES[g]
    stage, department = _SEGMENT_STAGE[g]
    buyers_children = ("visitors", "new_buyer_conversion") if g == "new" else (f"base_{g}", f"rate_{g}")
    nodes = [
        NodeSpec(f"sales_{g}", f"Sales from {en}", f"{zh}销售额", "money", "product",
                 (f"buyers_{g}", f"spend_per_buyer_{g}"), stage=stage, department=department),
        NodeSpec(f"buyers_{g}", f"Buyers: {en}", f"{zh}买家数", "count", "product",
                 buyers_children, stage=stage, department=department),
    ]
    if g == "new":
        nodes += [
            NodeSpec("visitors", "Visitors", "访客数", "count", "leaf",
                     stage=1, department="promotion"),
            NodeSpec("new_buyer_conversion", "New-buyer conversion", "新客转化率", "rate", "leaf",
                     department="storefront"),
        ]
    else:
        rate_en, rate_zh = _SEGMENT_RATE_NAMES[g]
        nodes += [
            NodeSpec(f"base_{g}", f"Base of {en}", f"{zh}基数", "count", "leaf",
                     stage=stage, department=department),
            NodeSpec(f"rate_{g}", rate_en, rate_zh, "rate", "leaf",
                     stage=stage, department=department),
        ]
    nodes += [
        NodeSpec(f"spend_per_buyer_{g}", f"Spend per buyer: {en}", f"{zh}客单价", "money",
                 "product", (f"frequency_{g}", f"order_value_{g}")),
        NodeSpec(f"frequency_{g}", f"Purchase frequency: {en}", f"{zh}购买频次", "ratio", "leaf",
                 stage=6, department="crm"),
        NodeSpec(f"order_value_{g}", f"Order value: {en}", f"{zh}订单价", "money", "leaf",
                 stage=2, department="storefront"),
    ]
    return nodes


def _customer_nodes() -> list[NodeSpec]:
    root = NodeSpec("sales", "Sales", "销售额", "money", "sum", tuple(f"sales_{g}" for g in SEGMENTS))
    return [root, *(n for g in SEGMENTS for n in _segment_nodes(g))]


FUNNEL_TREE: TreeSpec = _tree("funnel", "Funnel tree", "流量转化指标树", _funnel_nodes())
CUSTOMER_TREE: TreeSpec = _tree("customer", "Customer tree", "客户指标树", _customer_nodes())
DEFAULT_TREES: Mapping[str, TreeSpec] = MappingProxyType(
    {FUNNEL_TREE.key: FUNNEL_TREE, CUSTOMER_TREE.key: CUSTOMER_TREE}
)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class FunnelMeasures:
    """Raw counts for one store and period (DOMAIN.md section 3 notation).

    ``visitors_by_channel`` is None without a traffic export; a channel absent
    from the dict had no visitors. ``inquirers`` is None without inquiry data
    (the inquiry branch then folds into browse conversion); ``inquiry_placers``
    None with known inquirers counts as 0, as DOMAIN.md says.
    """

    visitors_by_channel: Mapping[str, int] | None
    inquirers: int | None
    placers: int
    inquiry_placers: int | None
    buyers: int
    orders: int
    sales: float
    units: int

    def __post_init__(self) -> None:
        if self.visitors_by_channel is not None:
            unknown = sorted(set(self.visitors_by_channel) - set(CHANNELS))
            _require(not unknown, f"unknown channels {unknown}; expected {CHANNELS}")
            _require(all(v >= 0 for v in self.visitors_by_channel.values()), "negative visitors")
        counts = (self.placers, self.buyers, self.orders, self.units, self.inquirers or 0,
                  self.inquiry_placers or 0)
        _require(all(c >= 0 for c in counts) and self.sales >= 0, "negative count or sales")
        _require(self.buyers <= self.placers, "paying buyers exceed placers")
        _require(self.buyers <= self.orders, "paying buyers exceed paid orders")
        _require(self.buyers > 0 or (self.orders == 0 and self.sales == 0),
                 "paid orders or sales without paying buyers")
        _require(self.inquiry_placers_count <= self.placers, "inquiry placers exceed placers")
        if self.inquirers is not None:
            _require(self.inquiry_placers_count <= self.inquirers, "inquiry placers exceed inquirers")
            if self.visitors is not None:
                _require(self.inquirers <= self.visitors, "inquirers exceed visitors")

    @property
    def visitors(self) -> int | None:
        if self.visitors_by_channel is None:
            return None
        return sum(self.visitors_by_channel.values())

    @property
    def inquiry_placers_count(self) -> int:
        return self.inquiry_placers or 0


def funnel_inputs(m: FunnelMeasures) -> Inputs:
    """Leaf values and given values of the funnel tree for one store and period."""
    v, placers, buyers, orders, units = m.visitors, m.placers, m.buyers, m.orders, m.units
    sales = float(m.sales)
    by_channel = m.visitors_by_channel
    leaves: dict[str, float | None] = {
        f"visitors_{c}": None if by_channel is None else float(by_channel.get(c, 0))
        for c in CHANNELS
    }
    leaves |= {
        "payment_rate": ratio(buyers, placers),
        "frequency": ratio(orders, buyers),
        "items_per_order": ratio(units, orders),
        "item_price": ratio(sales, units),
    }
    leaves |= _placing_leaves(v, m.inquirers, placers, m.inquiry_placers_count)
    given: dict[str, float | None] = {
        "sales": sales,
        "conversion": ratio(buyers, v),
        "placing_rate": ratio(placers, v),
        "order_value": ratio(sales, orders),
    }
    # The paths are given too, so placing_rate stays exact when a share is 0
    # and its conversion therefore undefined.
    inquiry_placers = None if m.inquirers is None else m.inquiry_placers_count
    given["browse_path"] = ratio(placers - (inquiry_placers or 0), v)
    given["inquiry_path"] = ratio(inquiry_placers, v)
    return leaves, given


def _placing_leaves(
    v: int | None, inquirers: int | None, placers: int, inquiry_placers: int
) -> dict[str, float | None]:
    if inquirers is None:
        # The fold of DOMAIN.md: without inquiry data every visitor counts as browsing.
        return {
            "browse_share": None if not v else 1.0,
            "browse_conversion": ratio(placers, v),
            "inquiry_rate": None,
            "inquiry_conversion": None,
        }
    browsers = None if v is None else v - inquirers
    return {
        "browse_share": ratio(browsers, v),
        "browse_conversion": ratio(placers - inquiry_placers, browsers),
        "inquiry_rate": ratio(inquirers, v),
        "inquiry_conversion": ratio(inquiry_placers, inquirers),
    }


@dataclass(frozen=True)
class SegmentMeasures:
    """One lifecycle segment: paying buyers, paid orders, sales; base at the start of P."""

    buyers: int
    orders: int
    sales: float
    base: int | None = None

    def __post_init__(self) -> None:
        _require(min(self.buyers, self.orders) >= 0 and self.sales >= 0, "negative measure")
        _require(self.buyers <= self.orders, "buyers exceed paid orders")
        _require(self.buyers > 0 or (self.orders == 0 and self.sales == 0),
                 "orders or sales without buyers")
        if self.base is not None:
            _require(self.buyers <= self.base, "buyers exceed the segment's base")


@dataclass(frozen=True)
class CustomerMeasures:
    """Visitors (None without traffic data) and the four lifecycle segments."""

    visitors: int | None
    segments: Mapping[str, SegmentMeasures]

    def __post_init__(self) -> None:
        _require(set(self.segments) == set(SEGMENTS), f"segments must be exactly {SEGMENTS}")
        _require(self.segments["new"].base is None, "the new segment has no base")
        _require(self.visitors is None or self.visitors >= 0, "negative visitors")


def customer_inputs(m: CustomerMeasures) -> Inputs:
    """Leaf values and given values of the customer tree for one store and period."""
    leaves: dict[str, float | None] = {
        "visitors": None if m.visitors is None else float(m.visitors),
        "new_buyer_conversion": ratio(m.segments["new"].buyers, m.visitors),
    }
    given: dict[str, float | None] = {
        "sales": math.fsum(float(s.sales) for s in m.segments.values()),
    }
    for g in SEGMENTS:
        s = m.segments[g]
        sales = float(s.sales)
        leaves[f"frequency_{g}"] = ratio(s.orders, s.buyers)
        leaves[f"order_value_{g}"] = ratio(sales, s.orders)
        if g != "new":
            leaves[f"base_{g}"] = None if s.base is None else float(s.base)
            leaves[f"rate_{g}"] = ratio(s.buyers, s.base)
        given[f"sales_{g}"] = sales
        given[f"buyers_{g}"] = float(s.buyers)
        given[f"spend_per_buyer_{g}"] = ratio(sales, s.buyers)
    return leaves, given
