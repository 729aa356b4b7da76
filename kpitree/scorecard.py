"""The seven marketing stages, their headline metrics against a base, and where to act.

Sales at stake of a metric (DOMAIN.md section 4): how much higher sales in
the period would be if that one metric were at its benchmark (the chosen
base) and everything else unchanged; 0 where the metric is already at or
better than its benchmark. A stage's sales at stake is the largest of its
metrics' (they overlap: order value contains items per order), and the
stage with the most is the shortest stave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kpitree.engine import Status, TreeSpec, TreeValues, metric_status, sales_at_stake
from kpitree.engine.tree import Department

Inputs = tuple[dict[str, float | None], dict[str, float | None]]


@dataclass(frozen=True)
class MetricRow:
    key: str
    name_en: str
    name_zh: str
    unit: str
    value: float | None
    base_value: float | None
    change_pct: float | None
    status: Status | None
    higher_is_better: bool
    sales_at_stake: float | None


@dataclass(frozen=True)
class StageRow:
    stage: int
    key: str
    name_en: str
    name_zh: str
    department: Department
    metrics: list[MetricRow]
    sales_at_stake: float
    status: Status | None
    actions_en: list[str]
    actions_zh: list[str]
    no_data: bool


@dataclass(frozen=True)
class _Stage:
    number: int
    key: str
    name_en: str
    name_zh: str
    department: Department
    metrics: tuple[tuple[str, str], ...]  # (tree key or "extra", metric key)
    actions_en: tuple[str, ...]
    actions_zh: tuple[str, ...]


STAGES: tuple[_Stage, ...] = (
    _Stage(1, "acquisition", "Acquisition", "引流", "promotion", (("funnel", "visitors"),),
           ("Search ads", "CPS affiliates (e.g. Taobaoke)", "Community posts",
            "Display ads", "Activities and group buys"),
           ("搜索推广", "社区CPS推广（如淘宝客）", "社区互动推广", "硬广投放", "各类活动和团购")),
    _Stage(2, "browse", "Browse conversion", "浏览转化", "storefront",
           (("funnel", "browse_conversion"), ("funnel", "items_per_order"),
            ("funnel", "order_value")),
           ("Improve detail pages", "Bundles", "Product recommendations"),
           ("优化宝贝详情页", "搭配套餐", "关联推荐")),
    _Stage(3, "inquiry", "Inquiry conversion", "询单转化", "customer_service",
           (("funnel", "inquiry_rate"), ("funnel", "inquiry_conversion")),
           ("Customer-service scripts and training", "Shorter response time"),
           ("客服话术与培训", "缩短响应时间")),
    _Stage(4, "payment", "Payment", "下单付款", "customer_service",
           (("funnel", "payment_rate"), ("extra", "unpaid_amount")),
           ("Remind buyers of unpaid orders",), ("未付款订单催付",)),
    _Stage(5, "nurture", "Nurture", "新客培养", "crm", (("customer", "rate_nurtured"),),
           ("Second-purchase coupons", "Follow up new customers"),
           ("二次购买优惠券", "新客回访")),
    _Stage(6, "active", "Active repurchase", "活跃复购", "crm",
           (("customer", "rate_active"), ("funnel", "frequency")),
           ("Membership", "Points", "New-arrival alerts"), ("会员体系", "积分", "新品上架提醒")),
    _Stage(7, "churn", "Churn and win-back", "流失挽回", "crm",
           (("extra", "churn_rate"), ("customer", "rate_won_back")),
           ("Win-back offers to lapsed customers by SMS or email",),
           ("通过短信或邮件向流失客户发送挽回优惠",)),
)

# Scorecard measures that are not nodes of a tree: (en, zh, unit, higher is better).
EXTRAS: dict[str, tuple[str, str, str, bool]] = {
    "unpaid_amount": ("Unpaid order value", "未付款金额", "money", False),
    "churn_rate": ("Churn rate", "流失率", "rate", False),
}
_WORST_FIRST: tuple[Status, ...] = ("red", "amber", "green")


def _worst(statuses: list[Status]) -> Status | None:
    for level in _WORST_FIRST:
        if level in statuses:
            return level
    return None


def _change_pct(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _worse(value: float, base: float, higher_is_better: bool) -> bool:
    return value < base if higher_is_better else value > base


def _tree_metric(tree: TreeSpec, key: str, inputs: Inputs, values: TreeValues,
                 base_value: float | None) -> MetricRow:
    node = tree[key]
    value = values[key]
    at_stake: float | None = None
    if value is not None and base_value is not None:
        at_stake = 0.0
        if _worse(value, base_value, node.higher_is_better):
            what_if = sales_at_stake(tree, inputs[0], inputs[1], key, base_value)
            root = values[tree.root]
            if what_if is not None and root is not None:
                at_stake = max(0.0, what_if - root)
    return MetricRow(
        key=key, name_en=node.name_en, name_zh=node.name_zh, unit=node.unit, value=value,
        base_value=base_value, change_pct=_change_pct(value, base_value),
        status=metric_status(value=value, target=base_value,
                             higher_is_better=node.higher_is_better),
        higher_is_better=node.higher_is_better, sales_at_stake=at_stake,
    )


def _extra_metric(key: str, value: float | None, base_value: float | None) -> MetricRow:
    en, zh, unit, higher = EXTRAS[key]
    at_stake: float | None = None
    # Unpaid value above the benchmark is sales that went unpaid; churn moves
    # future sales, not this period's, so it has none.
    if key == "unpaid_amount" and value is not None and base_value is not None:
        at_stake = max(0.0, value - base_value)
    return MetricRow(
        key=key, name_en=en, name_zh=zh, unit=unit, value=value, base_value=base_value,
        change_pct=_change_pct(value, base_value),
        status=metric_status(value=value, target=base_value, higher_is_better=higher),
        higher_is_better=higher, sales_at_stake=at_stake,
    )


def scorecard_build(
    *,
    trees: Mapping[str, TreeSpec],
    inputs: Mapping[str, Inputs],
    values: Mapping[str, TreeValues],
    extras: Mapping[str, float | None],
    base_values: Mapping[str, Mapping[str, float | None]],
    base_extras: Mapping[str, float | None],
) -> tuple[list[StageRow], int | None]:
    """Stage rows and the shortest stave (None when nothing is at stake).

    ``base_values`` maps tree key -> node key -> benchmark (empty when the
    base is not available).
    """
    rows: list[StageRow] = []
    for stage in STAGES:
        metrics = []
        for tree_key, key in stage.metrics:
            if tree_key == "extra":
                metrics.append(_extra_metric(key, extras.get(key), base_extras.get(key)))
            else:
                benchmark = base_values.get(tree_key, {}).get(key)
                metrics.append(_tree_metric(trees[tree_key], key, inputs[tree_key],
                                            values[tree_key], benchmark))
        statuses: list[Status] = []
        for m in metrics:
            if m.status is not None:
                statuses.append(m.status)
        worst = _worst(statuses)
        stakes = [m.sales_at_stake for m in metrics if m.sales_at_stake is not None]
        rows.append(StageRow(
            stage=stage.number, key=stage.key, name_en=stage.name_en, name_zh=stage.name_zh,
            department=stage.department, metrics=metrics,
            sales_at_stake=max(stakes, default=0.0),
            status=worst,
            actions_en=list(stage.actions_en), actions_zh=list(stage.actions_zh),
            no_data=all(m.value is None for m in metrics),
        ))
    top = max(rows, key=lambda r: r.sales_at_stake)
    return rows, (top.stage if top.sales_at_stake > 0 else None)
