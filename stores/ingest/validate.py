"""Row rules, the same for every format, and the rejection report.

``validate_orders`` / ``validate_traffic`` take a canonical chunk (strings)
and return the typed rows to stage and the rejections: one per failed rule,
with the file's row number, the file's column name, a reason and the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

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


@dataclass
class _Checks:
    ctx: Context
    row_no: pd.Series
    parts: list[pd.DataFrame] = field(default_factory=list)
    bad: pd.Series | None = None

    def fail(self, mask: pd.Series, column: str, reason: str, values: pd.Series | None = None) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        self.bad = mask if self.bad is None else (self.bad | mask)
        shown = values[mask].astype("str") if values is not None else pd.Series("", index=mask[mask].index)
        self.parts.append(
            pd.DataFrame(
                {
                    "row": self.row_no[mask].to_numpy(),
                    "column": self.ctx.resolved.get(column, column),
                    "reason": reason,
                    "value": shown.fillna("").str.slice(0, 200).to_numpy(),
                }
            )
        )

    def report(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REPORT_COLUMNS)
        return pd.concat(self.parts, ignore_index=True)

    def good(self, index: pd.Index) -> pd.Series:
        if self.bad is None:
            return pd.Series(True, index=index)
        return ~self.bad


def validate_orders(canon: pd.DataFrame, row_no: pd.Series, ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    checks = _Checks(ctx, row_no)
    out = pd.DataFrame({"row_no": row_no.astype("int64")}, index=canon.index)

    order_id = canon["order_id"]
    checks.fail(order_id.isna(), "order_id", _("missing order number"))
    checks.fail(order_id.str.len() > 100, "order_id", _("order number longer than 100 characters"), order_id)
    out["order_id"] = order_id

    customer = normalise.identifiers(canon["customer_id"])
    checks.fail(customer.str.len() > 200, "customer_id", _("customer id longer than 200 characters"), customer)
    out["customer_id"] = customer

    placed, bad_placed = normalise.datetimes(canon["placed_at"], tz=ctx.tz, fmt=ctx.date_format)
    checks.fail(canon["placed_at"].isna(), "placed_at", _("missing order time"))
    checks.fail(bad_placed, "placed_at", _("not a date and time"), canon["placed_at"])
    out["placed_at"] = placed
    paid, bad_paid = normalise.datetimes(canon["paid_at"], tz=ctx.tz, fmt=ctx.date_format)
    checks.fail(bad_paid, "paid_at", _("not a date and time"), canon["paid_at"])
    out["paid_at"] = paid

    status = canon["status"]
    checks.fail(status.isna(), "status", _("missing order status"))
    checks.fail(status.notna() & ~status.isin(STATUSES), "status", _("unknown order status"), status)
    out["status"] = status

    for name in ("amount", "refunded_amount", "line_amount", "line_refund", "unit_price"):
        text, value, invalid = normalise.money(canon[name])
        checks.fail(invalid, name, _("not an amount of money"), canon[name])
        reason = (
            _("negative price: an adjustment, not a sale")
            if name == "unit_price"
            else _("negative amount")
        )
        checks.fail(value < 0, name, reason, canon[name])
        out[name] = text

    for name in ("items", "quantity"):
        value, invalid = normalise.integers(canon[name])
        checks.fail(invalid, name, _("not a whole number"), canon[name])
        reason = (
            _("negative quantity: a return or cancellation line (load refunds through the order's status and refunded amount)")
            if name == "quantity"
            else _("negative number of items")
        )
        checks.fail(value < 0, name, reason, canon[name])
        out[name] = value

    no_value = canon["amount"].isna() & canon["line_amount"].isna() & (
        canon["quantity"].isna() | canon["unit_price"].isna()
    )
    checks.fail(no_value, "amount", _("no order amount: neither a total nor quantity and unit price"))

    inquired, bad_inquired = normalise.booleans(canon["inquired"])
    checks.fail(bad_inquired, "inquired", _("not yes or no"), canon["inquired"])
    out["inquired"] = inquired

    channel = map_series(canon["channel"], ctx.resolve_channel)
    out["channel"] = channel.fillna("other")
    out["sku"] = canon["sku"].str.slice(0, 100)
    out["title"] = canon["title"].str.slice(0, 500)

    good = checks.good(canon.index)
    return out.loc[good, list(STAGE_ORDER_COLUMNS)], checks.report()


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

    good = checks.good(canon.index)
    return out.loc[good, list(STAGE_TRAFFIC_COLUMNS)], checks.report()
