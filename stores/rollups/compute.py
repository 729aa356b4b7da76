"""The rollup arithmetic, on plain DataFrames: no database here.

Days are integers (days since 1970-01-01, in the store's local calendar), so
period starts and windows are integer arithmetic. Money is integer cents.

Input frames:

- ``orders``: one row per order from ``load_from`` on: ``order_id``,
  ``customer_id`` (NaN for a guest), ``day``, ``paid`` (bool), ``inquired``
  (bool), ``channel``, ``amount_cents``, ``refund_cents``, ``items``.
- ``history``: one row per customer with orders before ``load_from``:
  ``customer_id``, ``last_paid_day``, ``paid_count``, ``first_paid_day``,
  ``last_placed_day``, ``last_inquired_day`` (NONE where there is none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NONE = -(10**9)  # "no such day": earlier than any period start
GRAINS = ("day", "week", "month", "quarter", "year")
SEGMENTS = ("new", "nurtured", "active", "won_back")
ORDER_COLUMNS = [
    "order_id", "customer_id", "day", "paid", "inquired", "channel",
    "amount_cents", "refund_cents", "items",
]
HISTORY_COLUMNS = [
    "customer_id", "last_paid_day", "paid_count", "first_paid_day",
    "last_placed_day", "last_inquired_day",
]


@dataclass(frozen=True)
class Windows:
    nurture_days: int
    churn_days: int


def period_start(days: np.ndarray, grain: str) -> np.ndarray:
    """First day of the calendar period (weeks start on Monday) holding each day."""
    days = np.asarray(days, dtype=np.int64)
    if grain == "day":
        return days
    if grain == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday
    as_dates = days.astype("datetime64[D]")
    if grain == "month":
        return as_dates.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    if grain == "quarter":
        months = as_dates.astype("datetime64[M]").astype(np.int64)
        return (months - months % 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    if grain == "year":
        return as_dates.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    raise ValueError(f"unknown grain {grain!r}")


def earliest_period_start(day: int) -> int:
    """The earliest start among the periods of every grain that hold ``day``."""
    return int(period_start(np.array([day]), "year")[0])


def sales_daily(orders: pd.DataFrame) -> pd.DataFrame:
    """Additive measures by (day, channel)."""
    paid = orders["paid"].to_numpy(dtype=bool)
    amount = orders["amount_cents"].to_numpy(dtype=np.int64)
    refund = orders["refund_cents"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame(
        {
            "day": orders["day"].to_numpy(dtype=np.int64),
            "channel": orders["channel"].to_numpy(),
            "orders_placed": 1,
            "orders_paid": paid.astype(np.int64),
            "sales_cents": np.where(paid, amount - refund, 0),
            "gross_cents": np.where(paid, amount, 0),
            "refund_cents": np.where(paid, refund, 0),
            "units": np.where(paid, orders["items"].to_numpy(dtype=np.int64), 0),
            "orders_unpaid": (~paid).astype(np.int64),
            "unpaid_cents": np.where(paid, 0, amount),
        }
    )
    return frame.groupby(["day", "channel"], as_index=False, sort=True).sum()


def customer_days(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, day) with what they did that day.

    A guest order (no customer) is a customer of its own, keyed by the
    negative order id, so it counts as one buyer and never as a returning one.
    """
    customer = orders["customer_id"]
    key = np.where(
        customer.isna().to_numpy(),
        -orders["order_id"].to_numpy(dtype=np.int64),
        customer.fillna(0).to_numpy(dtype=np.int64),
    )
    paid = orders["paid"].to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "cust": key,
            "day": orders["day"].to_numpy(dtype=np.int64),
            "inq": orders["inquired"].to_numpy(dtype=bool),
            "paid_orders": paid.astype(np.int64),
            "sales_cents": np.where(
                paid, orders["amount_cents"].to_numpy(dtype=np.int64)
                - orders["refund_cents"].to_numpy(dtype=np.int64), 0
            ),
            "units": np.where(paid, orders["items"].to_numpy(dtype=np.int64), 0),
        }
    )
    grouped = frame.groupby(["cust", "day"], as_index=False, sort=True).agg(
        inq=("inq", "max"),
        paid_orders=("paid_orders", "sum"),
        sales_cents=("sales_cents", "sum"),
        units=("units", "sum"),
    )
    return grouped


def _history_lookup(days: pd.DataFrame, history: pd.DataFrame, column: str) -> np.ndarray:
    if history.empty:
        return np.full(len(days), NONE, dtype=np.int64)
    mapped = days["cust"].map(history.set_index("customer_id")[column])
    return mapped.fillna(NONE).to_numpy(dtype=np.int64)


def _previous_within_customer(days: pd.DataFrame, values: np.ndarray, before: np.ndarray) -> np.ndarray:
    """For each row, the latest ``values`` (NONE-filled) on an earlier row of
    the same customer, else ``before`` (from the history)."""
    running = pd.Series(values).groupby(days["cust"].to_numpy()).cummax()
    shifted = running.groupby(days["cust"].to_numpy()).shift(1)
    return np.maximum(shifted.fillna(NONE).to_numpy(dtype=np.int64), before)


def _paid_ladder(days: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Every paid day of every known customer with their paid-order count through
    it; history customers enter with one row at their last paid day."""
    paid = days.loc[(days["paid_orders"] > 0) & (days["cust"] > 0), ["cust", "day", "paid_orders"]]
    start = pd.Series(0, index=paid.index, dtype=np.int64)
    if not history.empty:
        known = history.loc[history["paid_count"] > 0]
        start = paid["cust"].map(known.set_index("customer_id")["paid_count"]).fillna(0).astype(np.int64)
        hist_rows = pd.DataFrame(
            {
                "cust": known["customer_id"].to_numpy(dtype=np.int64),
                "day": known["last_paid_day"].to_numpy(dtype=np.int64),
                "count": known["paid_count"].to_numpy(dtype=np.int64),
            }
        )
    else:
        hist_rows = pd.DataFrame({"cust": [], "day": [], "count": []}, dtype=np.int64)
    ladder = paid.assign(count=paid.groupby("cust")["paid_orders"].cumsum() + start)
    return pd.concat([hist_rows, ladder[["cust", "day", "count"]]], ignore_index=True)


def _first_paid_day(days: pd.DataFrame, history: pd.DataFrame) -> pd.Series:
    """The first paid day of each known customer, indexed by customer."""
    paid = days.loc[days["paid_orders"] > 0]
    first = paid.groupby("cust")["day"].min()
    if not history.empty:
        hist = history.loc[history["first_paid_day"] > NONE].set_index("customer_id")["first_paid_day"]
        first = pd.concat([hist, first]).groupby(level=0).min()
    return first


class _PaidBefore:
    """Each row's customer's last paid day strictly before a given day, and
    their paid-order count through it (NONE and 0 when there is none): one
    binary search in the ladder sorted by (customer, day), per grain."""

    def __init__(self, ladder: pd.DataFrame, cust: np.ndarray) -> None:
        ladder_cust = ladder["cust"].to_numpy(dtype=np.int64)
        codes, _ = pd.factorize(np.concatenate([ladder_cust, cust]))
        self._codes = codes[len(ladder_cust):].astype(np.int64)  # the rows'
        ladder_code = codes[: len(ladder_cust)].astype(np.int64)
        ladder_day = ladder["day"].to_numpy(dtype=np.int64)
        order = np.lexsort((ladder_day, ladder_code))  # stable: the later of equal rows last
        self._ladder_code = ladder_code[order]
        self._ladder_day = ladder_day[order]
        self._ladder_count = ladder["count"].to_numpy(dtype=np.int64)[order]

    def at(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self._ladder_day) == 0:
            return np.full(len(days), NONE, dtype=np.int64), np.zeros(len(days), dtype=np.int64)
        low = min(int(self._ladder_day.min()), int(days.min()))
        span = max(int(self._ladder_day.max()), int(days.max())) - low + 1
        # (customer, day) as one sortable integer: codes < rows, days within span.
        ladder_key = self._ladder_code * span + (self._ladder_day - low)
        before = np.searchsorted(ladder_key, self._codes * span + (days - low), side="left") - 1
        hit = before >= 0
        hit[hit] = self._ladder_code[before[hit]] == self._codes[hit]
        last_paid = np.where(hit, self._ladder_day[np.maximum(before, 0)], NONE)
        count = np.where(hit, self._ladder_count[np.maximum(before, 0)], 0)
        return last_paid, count


def segment_at(
    *, starts: np.ndarray, last_paid: np.ndarray, count: np.ndarray, first_paid: np.ndarray,
    windows: Windows,
) -> np.ndarray:
    """Lifecycle segment codes (index into SEGMENTS) at the start of ``starts``."""
    gap = starts - last_paid
    nurtured = (count == 1) & (starts - first_paid <= min(windows.nurture_days, windows.churn_days))
    return np.select(
        [last_paid == NONE, gap > windows.churn_days, nurtured],
        [0, 3, 1],
        default=2,
    )


def customer_daily(
    orders: pd.DataFrame, history: pd.DataFrame, windows: Windows, from_day: int,
    *, days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows (grain, day, segment) for days >= from_day; see CustomerDaily.
    ``days``: ``customer_days(orders)``, when the caller has it already."""
    days = customer_days(orders) if days is None else days
    if days.empty:
        return pd.DataFrame(
            columns=["grain", "day", "segment", "placers", "inquiry_placers", "buyers",
                     "orders_paid", "sales_cents", "units"]
        )
    day = days["day"].to_numpy(dtype=np.int64)
    paid_mask = days["paid_orders"].to_numpy() > 0
    inq_mask = days["inq"].to_numpy(dtype=bool)
    prev_placed = _previous_within_customer(days, day, _history_lookup(days, history, "last_placed_day"))
    prev_inq = _previous_within_customer(
        days, np.where(inq_mask, day, NONE), _history_lookup(days, history, "last_inquired_day")
    )
    prev_paid = _previous_within_customer(
        days, np.where(paid_mask, day, NONE), _history_lookup(days, history, "last_paid_day")
    )
    paid_before = _PaidBefore(_paid_ladder(days, history), days["cust"].to_numpy(dtype=np.int64))
    first_paid = days["cust"].map(_first_paid_day(days, history)).fillna(NONE).to_numpy(dtype=np.int64)
    keep = day >= from_day
    frames = []
    for grain in GRAINS:
        start = period_start(day, grain)
        last_paid, count = paid_before.at(start)
        segment = segment_at(
            starts=start, last_paid=last_paid, count=count, first_paid=first_paid, windows=windows,
        )
        frame = pd.DataFrame(
            {
                "day": day,
                "segment": segment,
                "placers": (prev_placed < start).astype(np.int64),
                "inquiry_placers": (inq_mask & (prev_inq < start)).astype(np.int64),
                "buyers": (paid_mask & (prev_paid < start)).astype(np.int64),
                "orders_paid": days["paid_orders"].to_numpy(dtype=np.int64),
                "sales_cents": days["sales_cents"].to_numpy(dtype=np.int64),
                "units": days["units"].to_numpy(dtype=np.int64),
            }
        )[keep]
        grouped = frame.groupby(["day", "segment"], as_index=False, sort=True).sum()
        grouped.insert(0, "grain", grain)
        frames.append(grouped)
    result = pd.concat(frames, ignore_index=True)
    result["segment"] = np.asarray(SEGMENTS)[result["segment"].to_numpy(dtype=np.int64)]
    return result


def customer_base_daily(
    orders: pd.DataFrame, history: pd.DataFrame, windows: Windows, from_day: int, to_day: int,
    *, days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Bases at the start of each day in [from_day, to_day], and lapses on it."""
    n_days = to_day - from_day + 1
    columns = ["day", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first"]
    if n_days <= 0:
        return pd.DataFrame(columns=columns)
    days = customer_days(orders) if days is None else days
    paid = days.loc[(days["paid_orders"] > 0) & (days["cust"] > 0), ["cust", "day", "paid_orders"]]
    count_before = pd.Series(0, index=paid.index, dtype=np.int64)
    if not history.empty:
        known = history.loc[history["paid_count"] > 0]
        count_before = paid["cust"].map(known.set_index("customer_id")["paid_count"]).fillna(0)
        hist = pd.DataFrame(
            {
                "cust": known["customer_id"].to_numpy(dtype=np.int64),
                "day": known["last_paid_day"].to_numpy(dtype=np.int64),
                # Only one order before: the history row is the first and only paid day.
                "single_first": (known["paid_count"] == 1).to_numpy(),
            }
        )
    else:
        hist = pd.DataFrame({"cust": [], "day": [], "single_first": []})
    first_row = ~paid["cust"].duplicated(keep="first").to_numpy()
    recent = pd.DataFrame(
        {
            "cust": paid["cust"].to_numpy(dtype=np.int64),
            "day": paid["day"].to_numpy(dtype=np.int64),
            "single_first": first_row & (count_before.to_numpy() == 0) & (paid["paid_orders"].to_numpy() == 1),
        }
    )
    spells = pd.concat([hist, recent], ignore_index=True).sort_values(["cust", "day"], kind="stable")
    cust = spells["cust"].to_numpy(dtype=np.int64)
    start = spells["day"].to_numpy(dtype=np.int64)
    same_next = np.r_[cust[1:] == cust[:-1], False]
    never = np.int64(10**9)
    nxt = np.where(same_next, np.r_[start[1:], 0], never)
    single = spells["single_first"].to_numpy(dtype=bool)
    churn, nurture = windows.churn_days, min(windows.nurture_days, windows.churn_days)

    def count_intervals(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """How many [lo, hi] intervals cover each day of the range."""
        lo_c = np.clip(lo, from_day, to_day + 1) - from_day
        hi_c = np.clip(hi, from_day - 1, to_day) - from_day
        valid = hi_c >= lo_c
        diff = np.zeros(n_days + 1, dtype=np.int64)
        np.add.at(diff, lo_c[valid], 1)
        np.add.at(diff, hi_c[valid] + 1, -1)
        return np.cumsum(diff)[:n_days]

    recent_end = np.minimum(start + churn, nxt)
    nurtured_end = np.where(single, np.minimum(start + nurture, nxt), start)  # empty when not single
    nurtured = count_intervals(start + 1, nurtured_end)
    active = count_intervals(start + 1, recent_end) - nurtured
    lapsed = count_intervals(start + churn + 1, nxt)
    lapse = (nxt - start) > churn
    in_range = (start >= from_day) & (start <= to_day)
    lapses = np.bincount(start[lapse & in_range] - from_day, minlength=n_days)
    lapses_first = np.bincount(start[lapse & in_range & single] - from_day, minlength=n_days)
    return pd.DataFrame(
        {
            "day": np.arange(from_day, to_day + 1, dtype=np.int64),
            "customers": nurtured + active + lapsed,
            "nurtured": nurtured,
            "active": active,
            "lapsed": lapsed,
            "lapses": lapses,
            "lapses_first": lapses_first,
        },
        columns=columns,
    )
