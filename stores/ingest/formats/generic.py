"""Our documented CSV columns, for JD and every platform without a module.

Orders: order_id, customer_id, placed_at, paid_at, status, amount, items,
channel, sku, quantity, unit_price, inquired (optional: refunded_amount,
title, line_amount, line_refund, currency, checked against the store's).
One row per order, or one per line with the order fields repeated or only on
the first line. Traffic: date, channel, visitors, page_views, inquirers,
inquiry_placers. Headers match whatever their case (``Order_ID``).
"""

from __future__ import annotations

from stores.ingest.formats.base import ORDER_COLUMNS, Format, _default_status

GENERIC_STATUS = {
    "paid": "paid", "unpaid": "unpaid", "closed": "closed", "refunded": "refunded",
    "completed": "paid", "complete": "paid", "success": "paid", "shipped": "paid",
    "delivered": "paid", "pending": "unpaid", "awaiting payment": "unpaid",
    "cancelled": "closed", "canceled": "closed", "voided": "closed",
    # JD order statuses, as its order export writes them.
    "完成": "paid", "已完成": "paid", "等待出库": "paid", "等待确认收货": "paid",
    "等待付款": "unpaid", "已取消": "closed", "锁定": "closed", "退款成功": "refunded",
}

ORDERS = Format(
    key="generic",
    kind="orders",
    label="Generic orders CSV",
    signature=("order_id", "placed_at"),
    columns={name: (name,) for name in ORDER_COLUMNS},
    order_fields_on_first_line=True,
    status_map=GENERIC_STATUS,
    transform=_default_status,
)

TRAFFIC = Format(
    key="generic_traffic",
    kind="traffic",
    label="Generic traffic CSV",
    signature=("date", "channel", "visitors"),
    columns={
        "date": ("date",), "source": ("channel",), "visitors": ("visitors",),
        "page_views": ("page_views",), "inquirers": ("inquirers",),
        "inquiry_placers": ("inquiry_placers",),
    },
)
