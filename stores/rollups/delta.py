"""The refresh after a load that touched a few customers: add the difference.

Every rollup row is a sum over customers (a guest order is a customer of its
own), which is why ``refresh`` can compute them a part at a time. So when a
load changes the orders of some customers, the rollups after it are those
before, less those customers' share computed before the load's writes, plus
their share after. Each share is computed from those customers' orders only,
from the same start as the full refresh would read (the year holding the
first day the load can change), with their earlier history: for a daily
export, the few thousand orders of a few thousand buyers, where the full
refresh reads a year of everybody's.

The bases run through today, so the first refresh of a new day also has days
the last one did not write. Past the store's last order nobody buys, and a
customer's base on such a day follows from their last paid day and whether
it was their only paid order: those days are filled from the customers'
lifetime columns (as they were before the load) first.

``delta_begin`` is called inside the load's transaction before its writes,
``delta_finish`` after them; the loader names the touched customers and
orders in SQL over its own tables.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from stores.models import CustomerBaseDaily, CustomerDaily, SalesDaily, Store
from stores.rollups import compute
from stores.rollups.reads import (
    epoch_sql,
    epoch_to_day,
    from_day,
    instant,
    load_history,
    load_orders,
    local_midnight_epoch,
    to_day,
)
from stores.rollups.refresh import RollupRefreshResult, rollups_basis, rollups_of, rollups_write

logger = logging.getLogger(__name__)

# The difference is computed twice from the touched customers' orders; past
# this share of the orders the full refresh would read, that costs more.
MAX_SHARE = 0.25
# Up to this many touched orders the difference is taken without counting
# the store's (a count of a year of a large store's orders costs more).
SMALL = 20_000

CUSTOMERS_TABLE = "rollup_touched_customers"
GUESTS_TABLE = "rollup_touched_guests"

SALES_COLUMNS = ["day", "channel", "orders_placed", "orders_paid", "sales_cents", "gross_cents",
                 "refund_cents", "units", "orders_unpaid", "unpaid_cents"]
CUSTOMER_COLUMNS = ["grain", "day", "segment", "placers", "inquiry_placers", "buyers", "orders_paid",
                    "sales_cents", "units"]
BASE_COLUMNS = ["day", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first"]


@dataclass(frozen=True)
class Touched:
    """The touched customers' orders and the touched guest orders, as
    ``materialize`` copies them into a temporary table: a
    ``refresh.Selection`` of the whole of it. The copy is a join of the
    customers' ids on the orders' customer index, and the refresh's reads
    are then plain scans of a few rows."""

    table = "rollup_touched_orders"
    whole = True

    def customers_condition(self) -> tuple[str, list[Any]]:
        return "TRUE", []

    def orders_condition(self) -> tuple[str, list[Any]]:
        return "TRUE", []

    def materialize(self, store: Store) -> int:
        """Copy the touched orders as they are now; returns how many."""
        columns = "o.id, o.store_id, o.customer_id, o.placed_at, o.status, o.inquired, o.channel, " \
                  "o.amount, o.refunded_amount, o.items"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} AS "  # noqa: S608 (our tables)
                f"SELECT {columns} FROM stores_order o JOIN {CUSTOMERS_TABLE} t ON o.customer_id = t.customer_id "
                f"WHERE o.store_id = %s "
                f"UNION ALL SELECT {columns} FROM stores_order o JOIN {GUESTS_TABLE} g ON o.id = g.id "
                f"WHERE o.store_id = %s AND o.customer_id IS NULL",
                [store.pk, store.pk],
            )
            return cursor.rowcount


@dataclass
class RollupDelta:
    store: Store
    since_day: int  # the first day whose rows can change
    load_epoch: int  # where the touched customers' orders are read from
    windows: compute.Windows
    stored_end: int | None  # the last day the bases were written for
    before: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
    aging: pd.DataFrame  # last paid day, only one paid order, customers: before the load
    started: float


def delta_begin(*, store: Store, since: date, customers_sql: str, guest_orders_sql: str) -> RollupDelta | None:
    """Before a load's writes: the touched customers' share of the rollups.
    ``customers_sql`` yields the ids of the customers whose orders the load
    may change (theirs before it or after it), ``guest_orders_sql`` the ids
    of the orders it may change that are a guest's before it or after it.
    None when a difference would not pay, or the rollups were computed
    otherwise (``rollups_basis``): refresh the usual way."""
    if connection.vendor != "postgresql" or store.rollups_basis != rollups_basis(store):
        return None
    started = time.perf_counter()
    windows = compute.Windows(store.nurture_window_days, store.churn_window_days)
    since_day = to_day(since) - windows.churn_days - 1
    load_epoch = local_midnight_epoch(store, from_day(compute.earliest_period_start(since_day)))
    with connection.cursor() as cursor:
        # Compiling these small reads costs more than running them (0.4 s).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"DROP TABLE IF EXISTS {CUSTOMERS_TABLE}, {GUESTS_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {CUSTOMERS_TABLE} AS SELECT DISTINCT customer_id "  # noqa: S608 (our SQL)
                       f"FROM ({customers_sql}) t WHERE customer_id IS NOT NULL")
        cursor.execute(f"CREATE TEMPORARY TABLE {GUESTS_TABLE} AS SELECT DISTINCT id "  # noqa: S608 (our SQL)
                       f"FROM ({guest_orders_sql}) t WHERE id IS NOT NULL")
        cursor.execute(f"ANALYZE {CUSTOMERS_TABLE}")
        cursor.execute(f"ANALYZE {GUESTS_TABLE}")
    count = Touched().materialize(store)
    if count > SMALL:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM stores_order WHERE store_id = %s AND placed_at >= %s",
                           [store.pk, instant(load_epoch)])
            if count > MAX_SHARE * cursor.fetchone()[0]:
                _drop()
                return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(date) FROM stores_customerbasedaily WHERE store_id = %s", [store.pk])
        (stored_end,) = cursor.fetchone()
    return RollupDelta(
        store=store, since_day=since_day, load_epoch=load_epoch, windows=windows,
        stored_end=None if stored_end is None else to_day(stored_end),
        before=_share(store, load_epoch, windows, since_day), aging=_aging(store), started=started,
    )


def delta_finish(delta: RollupDelta) -> RollupRefreshResult:
    """After the load's writes: the rollups from ``since_day`` on become the
    stored ones, less the share before, plus the share after."""
    store, since_day = delta.store, delta.since_day
    high = _last_order_day(store)
    today = to_day(timezone.localdate(timezone=store.tzinfo)) + 1
    last_day = max(today, high + 1 if high is not None else since_day)
    if delta.stored_end is not None:
        last_day = max(last_day, delta.stored_end)
    orders_read = Touched().materialize(store)  # as the load left them
    after = _share(store, delta.load_epoch, delta.windows, since_day, last_day)
    before = _share_through(delta.before, last_day)
    # From the first day the load changes, or the first the bases were not
    # written for yet (filled with everyone's as they were), if earlier.
    write_from = min(since_day, _first_unwritten(delta, since_day))
    stored_sales, stored_customers, stored_bases = _stored(store, write_from)
    aged = _aged_bases(delta.aging, delta.windows, _first_unwritten(delta, since_day), last_day)
    sales = _combine([stored_sales, after[0], before[0]], SALES_COLUMNS, 2)
    customers = _combine([stored_customers, after[1], before[1]], CUSTOMER_COLUMNS, 3)
    bases = _combine([stored_bases, aged, after[2], before[2]], BASE_COLUMNS, 1)
    rollups_write(store, write_from, sales, customers, bases)
    _drop()
    result = RollupRefreshResult(
        store_id=store.pk, from_date=from_day(write_from), orders_read=orders_read,
        sales_rows=len(sales), customer_rows=len(customers), base_rows=len(bases),
        seconds=round(time.perf_counter() - delta.started, 3),
    )
    logger.info("rollups refreshed by difference: %s", result)
    return result


def _last_order_day(store: Store) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {epoch_sql('max(placed_at)')} FROM stores_order WHERE store_id = %s", [store.pk])  # noqa: S608 (our SQL)
        (epoch,) = cursor.fetchone()
    return None if epoch is None else int(epoch_to_day(pd.Series([epoch]), store)[0])


def _share(store: Store, load_epoch: int, windows: compute.Windows, since_day: int,
           last_day: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The touched customers' rollups from ``since_day`` on, from their orders
    as last materialized (bases through ``last_day``; None: through a day far
    enough for any later call)."""
    touched = Touched()
    orders = load_orders(store, load_epoch, touched)
    history = load_history(store, load_epoch, touched)
    end = last_day if last_day is not None else to_day(timezone.localdate()) + 3660
    return rollups_of(iter([(orders, history)]), windows, since_day, end)


def _share_through(share: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], last_day: int,
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The share before, negated, its bases cut at ``last_day``."""
    sales, customers, bases = share
    bases = bases[bases["day"] <= last_day]
    return tuple(_negated(frame) for frame in (sales, customers, bases))  # type: ignore[return-value]


def _negated(frame: pd.DataFrame) -> pd.DataFrame:
    measures = [c for c in frame.columns if c not in ("day", "channel", "grain", "segment")]
    return frame.assign(**{c: -frame[c].astype(np.int64) for c in measures})


def _first_unwritten(delta: RollupDelta, since_day: int) -> int:
    return since_day if delta.stored_end is None else delta.stored_end + 1


def _aging(store: Store) -> pd.DataFrame:
    """Customers by local last paid day and whether they paid once, from the
    lifetime columns (call before the load writes them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (last_paid_at AT TIME ZONE %s)::date, paid_orders = 1, count(*) FROM stores_customer "
            "WHERE store_id = %s AND paid_orders > 0 GROUP BY 1, 2",
            [store.timezone, store.pk],
        )
        rows = cursor.fetchall()
    return pd.DataFrame(
        {"day": [to_day(d) for d, _once, _n in rows], "once": [bool(once) for _d, once, _n in rows],
         "customers": [int(n) for _d, _once, n in rows]},
    )


def _aged_bases(aging: pd.DataFrame, windows: compute.Windows, from_day_: int, to_day_: int) -> pd.DataFrame:
    """Everyone's bases on days after every paid day: from each customer's
    last paid day L, nurtured through L + nurture (when L's was their only
    paid order), active through L + churn, lapsed after; nobody lapses anew."""
    n_days = to_day_ - from_day_ + 1
    columns = ["day", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first"]
    if n_days <= 0 or aging.empty:
        return pd.DataFrame(columns=columns)
    last = aging["day"].to_numpy(dtype=np.int64)
    weight = aging["customers"].to_numpy(dtype=np.int64)
    once = aging["once"].to_numpy(dtype=bool)
    nurture = min(windows.nurture_days, windows.churn_days)

    def covering(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo_c = np.clip(lo, from_day_, to_day_ + 1) - from_day_
        hi_c = np.clip(hi, from_day_ - 1, to_day_) - from_day_
        valid = hi_c >= lo_c
        diff = np.zeros(n_days + 1, dtype=np.int64)
        np.add.at(diff, lo_c[valid], weight[valid])
        np.add.at(diff, hi_c[valid] + 1, -weight[valid])
        return np.cumsum(diff)[:n_days]

    far = np.full(len(last), to_day_ + 1, dtype=np.int64)
    nurtured = covering(last + 1, np.where(once, last + nurture, last))
    active = covering(last + 1, last + windows.churn_days) - nurtured
    lapsed = covering(last + windows.churn_days + 1, far)
    zeros = np.zeros(n_days, dtype=np.int64)
    return pd.DataFrame({
        "day": np.arange(from_day_, to_day_ + 1, dtype=np.int64), "customers": nurtured + active + lapsed,
        "nurtured": nurtured, "active": active, "lapsed": lapsed, "lapses": zeros, "lapses_first": zeros,
    })


def _stored(store: Store, since_day: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rollup rows from ``since_day`` on, as ``compute`` shapes them."""
    since = from_day(since_day)
    sales = pd.DataFrame(
        list(SalesDaily.objects.filter(store=store, date__gte=since).values_list(
            "date", "channel", "orders_placed", "orders_paid", "sales", "gross_sales", "refunds", "units",
            "orders_unpaid", "unpaid_amount")),
        columns=["day", "channel", "orders_placed", "orders_paid", "sales_cents", "gross_cents",
                 "refund_cents", "units", "orders_unpaid", "unpaid_cents"],
    )
    customers = pd.DataFrame(
        list(CustomerDaily.objects.filter(store=store, date__gte=since).values_list(
            "grain", "date", "segment", "placers", "inquiry_placers", "buyers", "orders_paid", "sales", "units")),
        columns=["grain", "day", "segment", "placers", "inquiry_placers", "buyers", "orders_paid",
                 "sales_cents", "units"],
    )
    bases = pd.DataFrame(
        list(CustomerBaseDaily.objects.filter(store=store, date__gte=since).values_list(
            "date", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first")),
        columns=["day", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first"],
    )
    for frame in (sales, customers, bases):
        frame["day"] = [to_day(d) for d in frame["day"]]
        for column in frame.columns:
            if column.endswith("_cents"):
                frame[column] = [int(value.scaleb(2)) for value in frame[column]]
    return sales, customers, bases


def _combine(frames: list[pd.DataFrame], columns: list[str], keys: int) -> pd.DataFrame:
    """The frames added up by their first ``keys`` columns; rows left all
    zeros are not kept (the full refresh keeps none either)."""
    frames = [frame[columns] for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=columns)
    added = pd.concat(frames, ignore_index=True)
    measures = columns[keys:]
    added[measures] = added[measures].astype(np.int64)
    added = added.groupby(columns[:keys], as_index=False, sort=True).sum()
    return added[added[measures].to_numpy().any(axis=1)].reset_index(drop=True)


def _drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CUSTOMERS_TABLE}, {GUESTS_TABLE}, {Touched.table}")


__all__ = ["RollupDelta", "delta_begin", "delta_finish"]
