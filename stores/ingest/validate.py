"""Row rules, the same for every format, and the rejection report.

``validate_orders`` / ``validate_traffic`` take a canonical chunk (strings)
and return the typed rows to stage and the rejections: one per failed rule,
with the file's row number, the file's column name, a reason and the value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeAlias

import numpy as np
import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext as _

from stores.ingest import normalise
from stores.ingest.channels import map_series
from stores.ingest.conventions import Conventions

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
# Money columns are numeric(16, 2) and the rollups sum cents in int64: a cell
# of a trillion or more is a mistake, and refusing it keeps both far from overflow.
MONEY_LIMIT = 10**12
# An order time a day ahead of now is not a time zone slip but a wrong date.
FUTURE_SLACK = pd.Timedelta(days=1)
# What Sycm writes in a count it has no data for.
NO_DATA = ("-", "--", "—", "——", "－")


@dataclass
class Context:
    tz: str
    resolved: dict[str, str]  # canonical -> the file's column, for the report
    resolve_channel: Callable[[str], str | None]
    date_format: str | None = None
    traffic_date: date | None = None
    currency: str | None = None  # the store's; orders in another are refused
    # Day-first dates and decimal commas, settled once per file (see conventions.py).
    conventions: Conventions = field(default_factory=Conventions)
    # Channel names no rule knew (counted as other), with their rows.
    unknown_channels: Counter[str] = field(default_factory=Counter)

    def count_unknown_channels(self, raw: pd.Series, mapped: pd.Series) -> None:
        unknown = (mapped.isna() & raw.notna()).to_numpy(dtype=bool)
        if unknown.any():
            names = raw[unknown].str.strip()
            self.unknown_channels.update(names[names != ""].value_counts().to_dict())


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

    def fail(
        self, mask: Mask, column: str, reason: str | pd.Series, values: pd.Series | None = None
    ) -> None:
        """Reject the rows under ``mask``; ``reason`` is one text, or one per row."""
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
                    "reason": reason if isinstance(reason, str) else reason.to_numpy()[mask],
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


def _fail_times(checks: _Checks, bad: pd.Series, raw: pd.Series, column: str, tz: str) -> None:
    """Unreadable times, saying so when the zone written is one several share."""
    bad = _bool(bad)
    shared = bad & normalise.shared_zone(raw, tz) if bad.any() else bad
    checks.fail(
        shared, column,
        _("the time zone written after the time is one several zones share (CST, IST, BST, AST): "
          "write its offset instead, such as +08:00"),
        raw,
    )
    checks.fail(bad & ~shared, column, _("not a date and time"), raw)


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
    checks.fail(
        normalise.scientific_notation(order_id), "order_id",
        _("order number in scientific notation (Excel cut its digits): export the file again without opening it in Excel"),
        order_id,
    )
    out["order_id"] = order_id

    customer = normalise.identifiers(canon["customer_id"])
    checks.fail(_longer_than(customer, 200), "customer_id", _("customer id longer than 200 characters"), customer)
    out["customer_id"] = customer

    placed, bad_placed = normalise.datetimes(
        canon["placed_at"], tz=ctx.tz, fmt=ctx.date_format, convention=ctx.conventions("placed_at"))
    checks.fail(canon["placed_at"].isna(), "placed_at", _("missing order time"))
    _fail_times(checks, bad_placed, canon["placed_at"], "placed_at", ctx.tz)
    out["placed_at"] = placed
    paid, bad_paid = normalise.datetimes(
        canon["paid_at"], tz=ctx.tz, fmt=ctx.date_format, convention=ctx.conventions("paid_at"))
    _fail_times(checks, bad_paid, canon["paid_at"], "paid_at", ctx.tz)
    out["paid_at"] = paid
    latest = pd.Timestamp(timezone.now()) + FUTURE_SLACK
    checks.fail(placed > latest, "placed_at", _("placed in the future"), canon["placed_at"])
    checks.fail(paid > latest, "paid_at", _("paid in the future"), canon["paid_at"])

    status = canon["status"].astype("str")
    present = status.notna().to_numpy()
    checks.fail(~present, "status", _("missing order status"))
    checks.fail(present & ~status.isin(STATUSES).to_numpy(), "status", _("unknown order status"), status)
    out["status"] = status

    too_large = _("amount too large: %(limit)s or more") % {"limit": f"{MONEY_LIMIT:,}"}
    money: dict[str, np.ndarray] = {}
    for name in ("amount", "refunded_amount", "line_amount", "line_refund", "unit_price"):
        text, value, invalid = normalise.money(canon[name], ctx.conventions(name))
        checks.fail(invalid, name, _("not an amount of money"), canon[name])
        reason = (
            _("negative price: an adjustment, not a sale")
            if name == "unit_price"
            else _("negative amount")
        )
        money[name] = value.to_numpy(dtype="float64", na_value=np.nan)
        checks.fail(money[name] < 0, name, reason, canon[name])
        checks.fail(money[name] >= MONEY_LIMIT, name, too_large, canon[name])
        out[name] = text
    # Half a cent of slack: both sides are rounded to cents when stored.
    with np.errstate(invalid="ignore"):
        for refund, total in (("refunded_amount", "amount"), ("line_refund", "line_amount")):
            over = money[refund] - money[total] > 0.005
            checks.fail(over, refund, _("refund larger than the amount"), canon[refund])

    counts: dict[str, pd.Series] = {}
    for name in ("items", "quantity"):
        count, invalid = normalise.integers(canon[name])
        checks.fail(invalid, name, _("not a whole number"), canon[name])
        reason = (
            _("negative quantity: a return or cancellation line (load refunds through the order's status and refunded amount)")
            if name == "quantity"
            else _("negative number of items")
        )
        checks.fail(count < 0, name, reason, canon[name])
        out[name] = counts[name] = count

    # A line without its own amount is worth price times quantity: that must fit too.
    quantity = counts["quantity"].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        line_value = (
            np.isnan(money["line_amount"])
            & (money["unit_price"] < MONEY_LIMIT)
            & (quantity * money["unit_price"] >= MONEY_LIMIT)
        )
    checks.fail(
        line_value, "unit_price",
        _("price times quantity too large: %(limit)s or more") % {"limit": f"{MONEY_LIMIT:,}"},
        canon["unit_price"],
    )

    missing = {name: canon[name].isna().to_numpy() for name in ("amount", "line_amount", "quantity", "unit_price")}
    no_value = missing["amount"] & missing["line_amount"] & (missing["quantity"] | missing["unit_price"])
    checks.fail(no_value, "amount", _("no order amount: neither a total nor quantity and unit price"))

    if ctx.currency:
        currency = canon["currency"].str.upper()
        foreign = currency.notna() & (currency != ctx.currency.upper())
        if foreign.any():
            in_other = _("in %(currency)s; this store keeps %(store)s")
            reasons = normalise.map_values(
                currency, lambda code: in_other % {"currency": code, "store": ctx.currency}
            )
            checks.fail(foreign, "currency", reasons, canon["currency"])

    inquired, bad_inquired = normalise.booleans(canon["inquired"])
    checks.fail(bad_inquired, "inquired", _("not yes or no"), canon["inquired"])
    out["inquired"] = inquired

    channel = map_series(canon["channel"], ctx.resolve_channel)
    ctx.count_unknown_channels(canon["channel"], channel)
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
    # A week or month export writes its period, 2025-10-01~2025-10-07: its counts
    # are the period's totals, which no one day holds.
    is_range = raw_date.str.contains("[~～至]", regex=True).fillna(False).to_numpy(dtype=bool)
    if is_range.any():
        ends = raw_date[is_range].str.extract(r"^(.*?)\s*[~～至]\s*(.*)$")
        parsed = _days(raw_date.mask(is_range, ends[0]), ctx)
        last = pd.Series(pd.NaT, index=raw_date.index, dtype=parsed.dtype)
        last[is_range] = _days(ends[1], ctx).to_numpy()
        longer = parsed.notna() & last.notna() & (parsed != last)
        checks.fail(longer, "date", _("a date range, not one day: export daily data"), raw_date)
        parsed = parsed.mask(is_range & last.isna().to_numpy())
    else:
        parsed = _days(raw_date, ctx)
    checks.fail(raw_date.isna(), "date", _("missing date"))
    checks.fail(raw_date.notna() & parsed.isna(), "date", _("not a date"), raw_date)
    out["date"] = parsed.dt.date

    detail = map_series(canon["source_detail"], ctx.resolve_channel)
    source = map_series(canon["source"], ctx.resolve_channel)
    mapped = detail.fillna(source)
    # The name that would have decided: the detail, or the source without one.
    ctx.count_unknown_channels(canon["source_detail"].fillna(canon["source"]), mapped)
    out["channel"] = mapped.fillna("other")

    for name, required in (("visitors", True), ("page_views", False), ("inquirers", False), ("inquiry_placers", False)):
        no_data = canon[name].isin(NO_DATA).to_numpy(dtype=bool)
        value, invalid = normalise.integers(canon[name].mask(no_data) if no_data.any() else canon[name])
        if required:
            checks.fail(canon[name].isna(), name, _("missing number of visitors"))
            value = value.mask(no_data, 0)
        checks.fail(invalid, name, _("not a whole number"), canon[name])
        checks.fail(value < 0, name, _("negative count"), canon[name])
        out[name] = value
    out["page_views"] = out["page_views"].fillna(0)

    return checks.keep(out[list(STAGE_TRAFFIC_COLUMNS)]), checks.report()


def _days(raw: pd.Series, ctx: Context) -> pd.Series:
    """Days written ``2025-10-01``, ``2025/10/01``, ``20251001``, ``05/03/2025``
    (day or month first, settled for the column as order times are) or with a
    time after them (Excel's ``2025-10-01 00:00:00``); NaT where unreadable."""
    text = normalise.day_month_year_as_iso(raw, ctx.conventions("date"))
    text = text.str.slice(0, 10).str.replace("/", "-", regex=False)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    left = parsed.isna() & text.notna()
    if left.any():
        parsed[left] = pd.to_datetime(text[left], format="%Y%m%d", errors="coerce")
    return parsed
