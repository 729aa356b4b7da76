"""Row rules, the same for every format, and the rejection report.

``validate_orders`` / ``validate_traffic`` take a canonical chunk (strings)
and return the typed rows to stage and the rejections: one per failed rule,
with the file's row number, the file's column name, a reason and the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from stores.ingest import normalise
from stores.ingest.channels import map_series

STATUSES = ("unpaid", "paid", "closed", "refunded")
STAGE_ORDER_COLUMNS = (
    "row_no", "order_id", "customer_id", "placed_at", "paid_at", "status", "amount",
    "refunded_amount", "line_amount", "line_refund", "items", "channel", "inquired",
    "sku", "title", "quantity", "unit_price",
)
STAGE_TRAFFIC_COLUMNS = (
    "row_no", "date", "channel", "visitors", "page_views", "inquirers", "inquiry_placers",
)
REPORT_COLUMNS = ["row", "column", "reason", "value"]


@dataclass
class Context:
    tz: str
    resolved: dict[str, str]  # canonical -> the file's column, for the report
    resolve_channel: Callable[[str], str | None]
    date_format: str | None = None
    traffic_date: date | None = None


Mask: TypeAlias = pd.Series | np.ndarray


def _bool(mask: Mask) -> np.ndarray:
    if isinstance(mask, pd.Series):
        return mask.to_numpy(dtype=bool, na_value=False)
    return np.asarray(mask, dtype=bool)


@dataclass
class _Checks:
    ctx: Context
    row_no: pd.Series
    parts: list[pd.DataFrame] = field(default_factory=list)
    bad: np.ndarray | None = None

    def fail(self, mask: Mask, column: str, reason: str, values: pd.Series | None = None) -> None:
        mask = _bool(mask)
        if not mask.any():
            return
        self.bad = mask if self.bad is None else (self.bad | mask)
        shown = values[mask].astype("str").fillna("").str.slice(0, 200).to_numpy() if values is not None else ""
        self.parts.append(
            pd.DataFrame(
                {
                    "row": self.row_no.to_numpy()[mask],
                    "column": self.ctx.resolved.get(column, column),
                    "reason": reason,
                    "value": shown,
                }
            )
        )

    def report(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REPORT_COLUMNS)
        return pd.concat(self.parts, ignore_index=True)

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.bad is None else frame[~self.bad]


def _longer_than(raw: pd.Series, limit: int) -> Mask:
    if normalise.longest(raw) <= limit:
        return np.zeros(len(raw), dtype=bool)
    return raw.str.len() > limit


def _cut(raw: pd.Series, limit: int) -> pd.Series:
    return raw if normalise.longest(raw) <= limit else raw.str.slice(0, limit)


def validate_orders(canon: pd.DataFrame, row_no: pd.Series, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    checks = _Checks(ctx, row_no)
    out: dict[str, object] = {"row_no": row_no.astype("int64")}

    order_id = canon["order_id"]
    checks.fail(order_id.isna(), "order_id", _("missing order number"))
    checks.fail(_longer_than(order_id, 100), "order_id", _("order number longer than 100 characters"), order_id)
    out["order_id"] = order_id

    customer = normalise.identifiers(canon["customer_id"])
    checks.fail(_longer_than(customer, 200), "customer_id", _("customer id longer than 200 characters"), customer)
    out["customer_id"] = customer

    placed, bad_placed = normalise.datetimes(canon["placed_at"], tz=ctx.tz, fmt=ctx.date_format)
    checks.fail(canon["placed_at"].isna(), "placed_at", _("missing order time"))
    checks.fail(bad_placed, "placed_at", _("not a date and time"), canon["placed_at"])
    out["placed_at"] = placed
    paid, bad_paid = normalise.datetimes(canon["paid_at"], tz=ctx.tz, fmt=ctx.date_format)
    checks.fail(bad_paid, "paid_at", _("not a date and time"), canon["paid_at"])
    out["paid_at"] = paid

    status = canon["status"].astype("str")
    present = status.notna().to_numpy()
    checks.fail(~present, "status", _("missing order status"))
    checks.fail(present & ~status.isin(STATUSES).to_numpy(), "status", _("unknown order status"), status)
    out["status"] = status

    for name in ("amount", "refunded_amount", "line_amount", "line_refund", "unit_price"):
        text, value, invalid = normalise.money(canon[name])
        checks.fail(invalid, name, _("not an amount of money"), canon[name])
        reason = (
            _("negative price: an adjustment, not a sale")
            if name == "unit_price"
            else _("negative amount")
        )
        checks.fail(value.to_numpy() < 0, name, reason, canon[name])
        out[name] = text

    for name in ("items", "quantity"):
        count, invalid = normalise.integers(canon[name])
        checks.fail(invalid, name, _("not a whole number"), canon[name])
        reason = (
            _("negative quantity: a return or cancellation line (load refunds through the order's status and refunded amount)")
            if name == "quantity"
            else _("negative number of items")
        )
        checks.fail(count < 0, name, reason, canon[name])
        out[name] = count

    missing = {name: canon[name].isna().to_numpy() for name in ("amount", "line_amount", "quantity", "unit_price")}
    no_value = missing["amount"] & missing["line_amount"] & (missing["quantity"] | missing["unit_price"])
    checks.fail(no_value, "amount", _("no order amount: neither a total nor quantity and unit price"))

    inquired, bad_inquired = normalise.booleans(canon["inquired"])
    checks.fail(bad_inquired, "inquired", _("not yes or no"), canon["inquired"])
    out["inquired"] = inquired

    channel = map_series(canon["channel"], ctx.resolve_channel)
    out["channel"] = channel.fillna("other")
    out["sku"] = _cut(canon["sku"], 100)
    out["title"] = _cut(canon["title"], 500)

    frame = pd.DataFrame({name: out[name] for name in STAGE_ORDER_COLUMNS}, index=canon.index)
    return checks.keep(frame), checks.report()


def validate_traffic(canon: pd.DataFrame, row_no: pd.Series, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    checks = _Checks(ctx, row_no)
    out = pd.DataFrame({"row_no": row_no.astype("int64")}, index=canon.index)

    raw_date = canon["date"]
    if ctx.traffic_date is not None:
        raw_date = raw_date.fillna(ctx.traffic_date.isoformat())
    text = raw_date.str.slice(0, 10).str.replace("/", "-", regex=False)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    left = parsed.isna() & text.notna()
    if left.any():
        parsed[left] = pd.to_datetime(text[left], format="%Y%m%d", errors="coerce")
    checks.fail(raw_date.isna(), "date", _("missing date"))
    checks.fail(raw_date.notna() & parsed.isna(), "date", _("not a date"), raw_date)
    out["date"] = parsed.dt.date

    detail = map_series(canon["source_detail"], ctx.resolve_channel)
    source = map_series(canon["source"], ctx.resolve_channel)
    out["channel"] = detail.fillna(source).fillna("other")

    for name, required in (("visitors", True), ("page_views", False), ("inquirers", False), ("inquiry_placers", False)):
        value, invalid = normalise.integers(canon[name])
        if required:
            checks.fail(canon[name].isna(), name, _("missing number of visitors"))
        checks.fail(invalid, name, _("not a whole number"), canon[name])
        checks.fail(value < 0, name, _("negative count"), canon[name])
        out[name] = value
    out["page_views"] = out["page_views"].fillna(0)

    return checks.keep(out[list(STAGE_TRAFFIC_COLUMNS)]), checks.report()
