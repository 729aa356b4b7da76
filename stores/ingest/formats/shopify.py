"""Shopify Admin > Orders > Export: one row per line item, order fields on the first."""

from __future__ import annotations

import pandas as pd

from stores.ingest.formats.base import Format

STATUS = {
    "paid": "paid", "partially_paid": "paid", "partially_refunded": "paid",
    "refunded": "refunded", "pending": "unpaid", "authorized": "unpaid",
    "expired": "closed", "voided": "closed",
}


def _transform(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    # A cancelled order that was never paid is closed; a paid one shows as refunded.
    if "Cancelled at" in raw.columns:
        cancelled = raw["Cancelled at"].notna() & (out["status"] == "unpaid")
        out["status"] = out["status"].mask(cancelled, "closed")
    out["customer_id"] = _lower_emails(out["customer_id"])
    return out


def _lower_emails(customer: pd.Series) -> pd.Series:
    """Shopify keeps the email as the buyer typed it each time: Ana.Ruiz@Example.com
    and ana.ruiz@example.com are one customer. Other ids keep their case."""
    email = customer.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
    if not email.any():
        return customer
    return customer.mask(email, customer.str.strip().str.lower())


FORMAT = Format(
    key="shopify",
    kind="orders",
    label="Shopify orders export",
    signature=("Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem price"),
    columns={
        "order_id": ("Name",),
        "customer_id": ("Email", "Customer Email"),
        "placed_at": ("Created at",),
        "paid_at": ("Paid at",),
        "status": ("Financial Status",),
        "amount": ("Total",),
        "refunded_amount": ("Refunded Amount",),
        "channel": ("Source",),
        "sku": ("Lineitem sku",),
        "title": ("Lineitem name",),
        "quantity": ("Lineitem quantity",),
        "unit_price": ("Lineitem price",),
        "currency": ("Currency",),
    },
    date_format="%Y-%m-%d %H:%M:%S %z",
    order_fields_on_first_line=True,
    status_map=STATUS,
    transform=_transform,
)
