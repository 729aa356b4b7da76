"""Distinct customers of a custom date range, exactly, from the orders.

The rollups count distinct customers exactly only for ranges anchored on a
calendar period (see stores.models.CustomerDaily). For any other range this
does the same arithmetic as stores.rollups.compute, anchored on the range's
own first day: plain DataFrames in, counts out, no database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stores.rollups import compute


@dataclass(frozen=True)
class RangeCustomers:
    placers: int
    inquiry_placers: int
    buyers: int
    # segment -> (buyers, paid orders, sales in cents, units)
    segments: dict[str, tuple[int, int, int, int]]


def range_customers(
    orders: pd.DataFrame, history: pd.DataFrame, windows: compute.Windows, first_day: int,
    last_day: int,
) -> RangeCustomers:
    """Distinct placers, inquiry placers and paying buyers over the days
    ``first_day``..``last_day``, with paying buyers split by their lifecycle
    segment at the start of ``first_day``.

    ``orders`` (compute.ORDER_COLUMNS) must hold every order of the range;
    ``history`` (compute.HISTORY_COLUMNS) every customer's orders before it.
    """
    in_range = orders[(orders["day"] >= first_day) & (orders["day"] <= last_day)]
    days = compute.customer_days(in_range)
    empty = dict.fromkeys(compute.SEGMENTS, (0, 0, 0, 0))
    if days.empty:
        return RangeCustomers(0, 0, 0, empty)
    per_customer = days.groupby("cust", sort=True).agg(
        inq=("inq", "max"), paid_orders=("paid_orders", "sum"),
        sales_cents=("sales_cents", "sum"), units=("units", "sum"),
    )
    cust = per_customer.index.to_numpy(dtype=np.int64)
    known = history.set_index("customer_id") if not history.empty else None

    def lookup(column: str, default: int) -> np.ndarray:
        if known is None:
            return np.full(len(cust), default, dtype=np.int64)
        values = pd.Series(cust).map(known[column])
        return values.fillna(default).to_numpy(dtype=np.int64)

    # Guests (negative keys) are never in the history, so they come out "new".
    segment = compute.segment_at(
        starts=np.full(len(cust), first_day, dtype=np.int64),
        last_paid=lookup("last_paid_day", compute.NONE),
        count=lookup("paid_count", 0),
        first_paid=lookup("first_paid_day", compute.NONE),
        windows=windows,
    )
    paying = per_customer["paid_orders"].to_numpy() > 0
    segments: dict[str, tuple[int, int, int, int]] = {}
    for code, name in enumerate(compute.SEGMENTS):
        mine = per_customer[(segment == code) & paying]
        segments[name] = (
            len(mine), int(mine["paid_orders"].sum()), int(mine["sales_cents"].sum()),
            int(mine["units"].sum()),
        )
    return RangeCustomers(
        placers=len(per_customer),
        inquiry_placers=int(per_customer["inq"].astype(bool).sum()),
        buyers=int(paying.sum()),
        segments=segments,
    )
