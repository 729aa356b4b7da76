"""Taobao/Tmall seller order report (ExportOrderList*.csv): one row per order."""

from __future__ import annotations

import pandas as pd

from stores.ingest.formats.base import Format
from stores.ingest.normalise import money_values

# Matched by substring, in order: the exact wording varies between versions
# (full-width and half-width commas, 等待买家确认 vs 等待买家确认收货 ...).
STATUS_KEYWORDS = (
    ("交易成功", "paid"),
    ("等待买家付款", "unpaid"),
    ("待付款", "unpaid"),
    ("付款确认中", "unpaid"),
    ("交易创建", "unpaid"),
    ("预售", "unpaid"),  # a presale holds a deposit, not the payment
    ("付款以前", "closed"),  # 付款以前，卖家或买家主动关闭交易
    ("退款中", "paid"),  # asked for, not yet given back
    ("退款", "refunded"),
    ("已付款", "paid"),
    ("已发货", "paid"),
    ("等待卖家发货", "paid"),
    ("部分发货", "paid"),
    ("确认收货", "paid"),
    ("交易关闭", "closed"),
    ("已取消", "closed"),
)


def status_from_text(raw: pd.Series) -> pd.Series:
    uniques = raw.dropna().unique()
    table: dict[str, str] = {}
    for text in uniques:
        for keyword, status in STATUS_KEYWORDS:
            if keyword in text:
                table[text] = status
                break
    mapped = raw.map(table)
    return mapped.where(mapped.notna(), raw)


def _transform(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    out["status"] = status_from_text(out["status"])
    # A closed trade that had been paid was refunded (the buyer got the money back).
    paid_then_closed = (out["status"] == "closed") & out["paid_at"].notna()
    out["status"] = out["status"].mask(paid_then_closed, "refunded")
    # The buyer's actual payment is 0 on unpaid orders: the order is then worth its total.
    total = next((raw[c] for c in ("总金额",) if c in raw.columns), None)
    if total is not None:
        actual = money_values(out["amount"])
        out["amount"] = out["amount"].where(actual.fillna(0) > 0, total)
    # A refunded order without a refund amount: Format.to_canonical refunds it in full.
    return out


FORMAT = Format(
    key="taobao",
    kind="orders",
    label="Taobao/Tmall order report",
    signature=("订单编号", "买家会员名", "订单状态", "订单创建时间"),
    columns={
        "order_id": ("订单编号",),
        "customer_id": ("买家会员名", "买家支付宝账号"),
        "placed_at": ("订单创建时间",),
        "paid_at": ("订单付款时间",),
        "status": ("订单状态",),
        "amount": ("买家实际支付金额", "买家实付金额", "总金额"),
        "refunded_amount": ("退款金额",),
        "items": ("宝贝总数量",),
        "title": ("宝贝标题",),
    },
    transform=_transform,
)
