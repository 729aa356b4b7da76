"""Refresh a store's rollups from its orders, for the dates a load touched.

What a new or changed order on local day x can change: the sales of day x;
the first-in-period flags and segments of that customer's later days; the
bases of every later day; and whether the customer's paid days up to one
churn window before x ended in a lapse. So the refresh rewrites every rollup
row from ``x - churn window - 1`` on, reading orders from the start of the
year that holds that day (the earliest period start a row can depend on),
and the customer's earlier history as one aggregate row each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from stores.bulk import rows_insert
from stores.memory import release_memory
from stores.models import (
    CustomerBaseDaily,
    CustomerDaily,
    SalesDaily,
    Store,
)
from stores.rollups import compute
from stores.rollups.reads import (
    PAID_SQL,
    Part,
    day_bounds,
    drop_parts,
    epoch_to_day,
    from_day,
    has_orders_before,
    instant,
    load_history,
    load_orders,
    local_midnight_epoch,
    plan_parts,
    to_day,
)

if TYPE_CHECKING:
    from stores.rollups.spill import SpilledOrders

logger = logging.getLogger(__name__)


def rollups_basis(store: Store) -> str:
    """What a store's rollups depend on besides its orders: rollups written
    under another zone or other windows must be computed again in full."""
    return f"{store.timezone}|{store.nurture_window_days}|{store.churn_window_days}"


@dataclass(frozen=True)
class RollupRefreshResult:
    store_id: int
    from_date: date | None
    orders_read: int
    sales_rows: int
    customer_rows: int
    base_rows: int
    seconds: float


def _money(cents: pd.Series) -> list[Decimal]:
    return [Decimal(int(value)).scaleb(-2) for value in cents.to_numpy(dtype=np.int64)]


def _dates(days: pd.Series) -> list[date]:
    return [from_day(value) for value in days.to_numpy(dtype=np.int64)]


def _ints(values: pd.Series) -> list[int]:
    return values.to_numpy(dtype=np.int64).tolist()


def rollups_write(store: Store, since_day: int | None, sales: pd.DataFrame, customers: pd.DataFrame,
                  bases: pd.DataFrame) -> None:
    """Replace the store's rollup rows from ``since_day`` on (None: all) with
    these (``rollups_of``'s frames)."""
    for model in (SalesDaily, CustomerDaily, CustomerBaseDaily):
        rows = model.objects.filter(store=store)
        if since_day is not None:
            rows = rows.filter(date__gte=from_day(since_day))
        rows._raw_delete(rows.db)  # no cascades or signals on rollup rows
    store_ids = {"store_id": [store.pk]}
    rows_insert(SalesDaily, {
        "store_id": store_ids["store_id"] * len(sales), "date": _dates(sales["day"]),
        "channel": sales["channel"].tolist(),
        "orders_placed": _ints(sales["orders_placed"]), "orders_paid": _ints(sales["orders_paid"]),
        "sales": _money(sales["sales_cents"]), "gross_sales": _money(sales["gross_cents"]),
        "refunds": _money(sales["refund_cents"]), "units": _ints(sales["units"]),
        "orders_unpaid": _ints(sales["orders_unpaid"]), "unpaid_amount": _money(sales["unpaid_cents"]),
    })
    rows_insert(CustomerDaily, {
        "store_id": store_ids["store_id"] * len(customers), "date": _dates(customers["day"]),
        "grain": customers["grain"].tolist(), "segment": customers["segment"].tolist(),
        "placers": _ints(customers["placers"]), "inquiry_placers": _ints(customers["inquiry_placers"]),
        "buyers": _ints(customers["buyers"]), "orders_paid": _ints(customers["orders_paid"]),
        "sales": _money(customers["sales_cents"]), "units": _ints(customers["units"]),
    })
    rows_insert(CustomerBaseDaily, {
        "store_id": store_ids["store_id"] * len(bases), "date": _dates(bases["day"]),
        **{name: _ints(bases[name]) for name in
           ("customers", "nurtured", "active", "lapsed", "lapses", "lapses_first")},
    })


def lifetime_aggregates(orders: str) -> str:
    """SQL for a customer's lifetime columns over the rows ``orders`` (an alias
    of stores_order, or of rows shaped like it), grouped by customer:
    first_paid, last_paid, paid_orders, paid_amount."""
    paid = f"{orders}.status IN ({PAID_SQL})"
    return (
        f"MIN(CASE WHEN {paid} THEN {orders}.placed_at END) AS first_paid, "
        f"MAX(CASE WHEN {paid} THEN {orders}.placed_at END) AS last_paid, "
        f"SUM(CASE WHEN {paid} THEN 1 ELSE 0 END) AS paid_orders, "
        f"COALESCE(SUM(CASE WHEN {paid} THEN {orders}.amount - {orders}.refunded_amount END), 0) "
        f"AS paid_amount"
    )


def _refresh_customer_lifetimes(store: Store, since_epoch: int | None) -> None:
    """Lifetime columns of the customers who have orders from ``since`` on."""
    params: list[Any] = [store.pk]
    customers = "o.customer_id IS NOT NULL"
    if since_epoch is not None and has_orders_before(store, since_epoch):
        # Only those with an order from since on; with nothing earlier, that
        # is every customer, and the filter would only cost a join.
        customers = (
            "o.customer_id IN (SELECT DISTINCT n.customer_id FROM stores_order n"
            " WHERE n.store_id = %s AND n.customer_id IS NOT NULL AND n.placed_at >= %s)"
        )
        params += [store.pk, instant(since_epoch)]
    _update_lifetimes(
        f"SELECT o.customer_id AS customer_id, {lifetime_aggregates('o')} "  # noqa: S608 (our fragments)
        f"FROM stores_order o WHERE o.store_id = %s AND {customers} GROUP BY o.customer_id",
        params,
    )


def update_customer_lifetimes(store: Store, customers_sql: str, params: Sequence[Any] = ()) -> None:
    """Lifetime columns of the store's customers whose ids ``customers_sql``
    (a query of one column, ``customer_id``, taking ``params``) yields, over
    all their orders; a customer left with no order gets the columns of none.
    The loaders call it for the customers a load touched."""
    _update_lifetimes(
        f"SELECT t.customer_id, {lifetime_aggregates('o')} "  # noqa: S608 (our fragments)
        f"FROM ({customers_sql}) t "
        f"LEFT JOIN stores_order o ON o.store_id = %s AND o.customer_id = t.customer_id "
        f"GROUP BY t.customer_id",
        [*params, store.pk],
    )


def _update_lifetimes(aggregate_sql: str, params: list[Any]) -> None:
    """Write the lifetime columns ``aggregate_sql`` computes (customer_id and
    the ``lifetime_aggregates``) where they differ from the stored ones."""
    sql = f"""
        UPDATE stores_customer SET
            first_paid_at = agg.first_paid,
            last_paid_at = agg.last_paid,
            paid_orders = agg.paid_orders,
            paid_amount = agg.paid_amount
        FROM ({aggregate_sql}) AS agg
        WHERE stores_customer.id = agg.customer_id
          AND (stores_customer.first_paid_at, stores_customer.last_paid_at,
               stores_customer.paid_orders, stores_customer.paid_amount)
              IS DISTINCT FROM (agg.first_paid, agg.last_paid, agg.paid_orders, agg.paid_amount)
    """  # noqa: S608 (our fragments; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


#: Orders per part: bounds the refresh's memory (under 1 KB per order in pandas).
PART_ORDERS = 250_000


def _read_part(store: Store, load_epoch: int | None, history: bool, part: Part,
               raw: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    orders = load_orders(store, load_epoch, part, raw)
    if load_epoch is None or not history:
        return orders, pd.DataFrame(columns=compute.HISTORY_COLUMNS)
    return orders, load_history(store, load_epoch, part, raw)


def _read_parts(store: Store, load_epoch: int | None, parts: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each part's orders and history. On PostgreSQL the next part is read on
    a thread while the caller computes this one: the server and pandas then
    work at once, where they took turns."""
    # A store's first import has nothing before it: no history to read.
    history = load_epoch is not None and has_orders_before(store, load_epoch)
    if parts == 1 or connection.vendor != "postgresql":
        for index in range(parts):
            yield _read_part(store, load_epoch, history, Part(index, parts))
        return
    raw = connection.connection
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollup-read") as reader:
        pending = reader.submit(_read_part, store, load_epoch, history, Part(0, parts), raw)
        try:
            for index in range(parts):
                with connection.wrap_database_errors:
                    done = pending.result()
                if index + 1 < parts:
                    pending = reader.submit(_read_part, store, load_epoch, history, Part(index + 1, parts), raw)
                yield done
        finally:
            # A failed computation must not leave a read running on the connection.
            pending.cancel()
            wait([pending])


def _add_up(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True).groupby(keys, as_index=False, sort=True).sum()


def rollups_refresh(
    *, store: Store, since: date | None = None, part_orders: int = PART_ORDERS,
    lifetimes: bool = True, spilled: SpilledOrders | None = None,
    before_write: Callable[[], None] | None = None,
) -> RollupRefreshResult:
    """Rewrite the store's rollups from local date ``since`` on (None: all),
    and the lifetime columns of the customers with orders from then on
    (``lifetimes=False``: the caller has kept them right, as the loaders do).

    Customers are read in parts of about ``part_orders`` orders and the parts'
    rollups added up, so memory stays flat however large the store. Runs in
    one transaction (a savepoint inside the caller's), so a failure leaves
    the previous rollups as they were.

    ``spilled``: all of the store's orders, as its first import kept them
    (``rollups.spill``), read instead of the database; the database is not
    used until the rollups are written, after ``before_write`` (which lets
    the caller end what it had the connection do meanwhile).
    """
    started = time.perf_counter()
    windows = compute.Windows(store.nurture_window_days, store.churn_window_days)
    since_day: int | None = None
    basis = rollups_basis(store)
    if since is not None and store.rollups_basis != basis:
        since = None  # written under another zone or windows (or never): all of them again
    if spilled is not None:
        if since is not None:
            raise ValueError("spilled orders are a whole store's: refresh from the start")
        low, high = (None, None) if spilled.low_epoch is None else (
            epoch_to_day(pd.Series([spilled.low_epoch, spilled.high_epoch]), store).tolist())
        count = spilled.count
        first_day = low if low is not None else to_day(timezone.localdate())
        part_of = spilled.plan(part_orders) if count > part_orders else np.zeros(0, dtype=np.int32)
        release_memory()  # the read's chunks and the plan's sorting
        parts = int(part_of.max()) + 1 if len(part_of) else 1
        empty = pd.DataFrame(columns=compute.HISTORY_COLUMNS)
        frames = ((orders, empty) for orders in spilled.parts(store, part_of, parts))
        sales, customers, bases = rollups_of(frames, windows, first_day, _last_day(store, high, first_day))
        if before_write is not None:
            before_write()
        with transaction.atomic():
            rollups_write(store, since_day, sales, customers, bases)
            if lifetimes:
                _refresh_customer_lifetimes(store, None)
    else:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The part plan and the lifetime update sort and group every
                # customer: with the default 4MB they spill to disk.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL work_mem = '64MB'")
            if since is None:
                load_epoch: int | None = None
            else:
                since_day = to_day(since) - windows.churn_days - 1
                load_epoch = local_midnight_epoch(store, from_day(compute.earliest_period_start(since_day)))
            low, high, count = day_bounds(store, load_epoch)
            first_day = since_day if since_day is not None else (
                low if low is not None else to_day(timezone.localdate()))
            parts = 1 if count <= part_orders else plan_parts(store, load_epoch, part_orders)
            try:
                sales, customers, bases = rollups_of(
                    _read_parts(store, load_epoch, parts), windows, first_day,
                    _last_day(store, high, first_day))
            finally:
                if parts > 1:
                    drop_parts()
            rollups_write(store, since_day, sales, customers, bases)
            if lifetimes:
                _refresh_customer_lifetimes(
                    store, None if since is None else local_midnight_epoch(store, since)
                )
    if since is None and store.rollups_basis != basis:
        Store.objects.filter(pk=store.pk).update(rollups_basis=basis)
        store.rollups_basis = basis
    result = RollupRefreshResult(
        store_id=store.pk,
        from_date=None if since_day is None else from_day(since_day),
        orders_read=count,
        sales_rows=len(sales),
        customer_rows=len(customers),
        base_rows=len(bases),
        seconds=round(time.perf_counter() - started, 3),
    )
    logger.info("rollups refreshed: %s", result)
    return result


def _last_day(store: Store, high: int | None, first_day: int) -> int:
    """Bases run through today so that a period starting after the last
    order still finds who was nurtured, active or lapsed at its start."""
    today = to_day(timezone.localdate(timezone=store.tzinfo)) + 1
    return max(high + 1 if high is not None else first_day, today)


def rollups_of(
    frames: Iterator[tuple[pd.DataFrame, pd.DataFrame]], windows: compute.Windows, first_day: int, last_day: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rollups of each part's (orders, history), added up."""
    sales_parts, customer_parts, base_parts = [], [], []
    for orders, history in frames:
        sales_parts.append(compute.sales_daily(orders[orders["day"] >= first_day]))
        days = compute.customer_days(orders)  # both below group by (customer, day)
        customer_parts.append(compute.customer_daily(orders, history, windows, first_day, days=days))
        base_parts.append(
            compute.customer_base_daily(orders, history, windows, first_day, last_day, days=days))
        del orders, history, days
        release_memory()  # each part's working set, not the sum of them
    sales = _add_up(sales_parts, ["day", "channel"])
    customers = _add_up(customer_parts, ["grain", "day", "segment"])
    bases = _add_up(base_parts, ["day"])
    # A missing row reads as zeros; storing none keeps every kind of refresh alike.
    customers = customers[customers.drop(columns=["grain", "day", "segment"]).to_numpy().any(axis=1)]
    return sales, customers, bases[bases.drop(columns="day").to_numpy().any(axis=1)]
