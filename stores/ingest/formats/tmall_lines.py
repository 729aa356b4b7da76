"""Tmall sub-order export: one row per order line (子订单), grouped by 主订单编号."""

from __future__ import annotations

import pandas as pd

from stores.ingest.formats.base import Format
from stores.ingest.formats.taobao import status_from_text
from stores.ingest.normalise import money_values


def _transform(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    out["status"] = status_from_text(out["status"])
    if "退款状态" in raw.columns:
        refunded = raw["退款状态"].fillna("").str.contains("退款成功")
        out["status"] = out["status"].mask(refunded & (out["status"] != "unpaid"), "refunded")
        out["line_refund"] = out["line_refund"].where(refunded, None)
    paid_then_closed = (out["status"] == "closed") & out["paid_at"].notna()
    out["status"] = out["status"].mask(paid_then_closed, "refunded")
    # A line never paid for (unpaid, or closed unpaid) shows 0 paid: it is worth
    # its price times quantity instead, as the Taobao report's 总金额 does.
    never_paid = out["status"].isin(("unpaid", "closed")) & (money_values(out["line_amount"]).fillna(0) == 0)
    out["line_amount"] = out["line_amount"].mask(never_paid)
    return out


FORMAT = Format(
    key="tmall_lines",
    kind="orders",
    label="Tmall sub-order (order lines) export",
    signature=("子订单编号", "主订单编号", "购买数量", "订单状态"),
    columns={
        "order_id": ("主订单编号",),
        "customer_id": ("买家会员名", "买家昵称"),
        "placed_at": ("订单创建时间",),
        "paid_at": ("订单付款时间",),
        "status": ("订单状态",),
        "title": ("标题",),
        "unit_price": ("价格",),
        "quantity": ("购买数量",),
        "sku": ("商家编码",),
        "line_amount": ("买家实际支付金额", "买家实付金额"),
        "line_refund": ("退款金额",),
    },
    transform=_transform,
)
