"""Reading a store's orders for the rollups, and the day arithmetic they share.

Days are local calendar days numbered from 1970-01-01 (``to_day``); times go
to and from the database as epoch seconds. The orders are read through COPY
(the fast way out of PostgreSQL) as all of the store's, or a ``Selection`` of
them: a ``Part`` of its customers (``plan_parts``), or the customers a load
touched (``delta.Touched``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd
from django.db import connection

from stores.models import PAID_STATUSES, Store
from stores.rollups import compute

EPOCH = date(1970, 1, 1)


PAID_SQL = ", ".join(f"'{status}'" for status in PAID_STATUSES)


def to_day(value: date) -> int:
    return (value - EPOCH).days


def from_day(value: int) -> date:
    return EPOCH + timedelta(days=int(value))


def local_midnight_epoch(store: Store, day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=store.tzinfo).timestamp())


def epoch_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"extract(epoch from {column})::bigint"
    # '%%' because the query goes through the DB-API's %s parameter style.
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def cents_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"round({column} * 100)::bigint"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def read_sql(sql: str, params: list[Any], columns: list[str], raw: Any = None) -> pd.DataFrame:
    """Run a query into a DataFrame; on PostgreSQL through COPY, which is the
    fast way out as well as in. ``raw``: psycopg2's connection, to read from
    another thread (Django's connections are per thread)."""
    with (raw.cursor() if raw is not None else connection.cursor()) as cursor:
        if connection.vendor == "postgresql":
            query = cursor.mogrify(sql, params).decode()
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
            buffer.seek(0)
            if buffer.getbuffer().nbytes == 0:
                return pd.DataFrame(columns=columns)
            return pd.read_csv(buffer, header=None, names=columns, engine="pyarrow")
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def epoch_to_day(epochs: pd.Series, store: Store) -> np.ndarray:
    """Local calendar day numbers of UTC epoch seconds (NaN -> NONE)."""
    values = pd.to_numeric(epochs, errors="coerce")
    mask = values.isna().to_numpy()
    stamps = pd.to_datetime(values.fillna(0).astype(np.int64), unit="s", utc=True)
    local = stamps.dt.tz_convert(store.timezone).dt.tz_localize(None)
    days = local.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(mask, compute.NONE, days)


class Selection(Protocol):
    """Which of the store's orders a refresh reads: all of ``table`` (shaped
    like stores_order), or some customers' there."""

    @property
    def table(self) -> str: ...

    @property
    def whole(self) -> bool: ...

    def customers_condition(self) -> tuple[str, list[Any]]: ...

    def orders_condition(self) -> tuple[str, list[Any]]: ...


@dataclass(frozen=True)
class Part:
    """The customers ``plan_parts`` put in part ``index`` of ``count``, and the
    guest orders whose id is ``index`` modulo ``count``.

    Every rollup is a sum over customers, so it can be computed a part at a
    time and added up: memory follows the part, not the store."""

    index: int = 0
    count: int = 1
    table = "stores_order"

    @property
    def whole(self) -> bool:
        return self.count == 1

    def customers_condition(self) -> tuple[str, list[Any]]:
        """SQL keeping this part's customers' orders, and its parameters."""
        return f"customer_id IN (SELECT customer_id FROM {PARTS_TABLE} WHERE part = %s)", [self.index]  # noqa: S608 (our table)

    def orders_condition(self) -> tuple[str, list[Any]]:
        """SQL keeping this part's orders (its customers' and its guests'), and its parameters."""
        customers, params = self.customers_condition()
        return f"({customers} OR (customer_id IS NULL AND id %% %s = %s))", [*params, self.count, self.index]


PARTS_TABLE = "rollup_customer_parts"


def plan_parts(store: Store, since_epoch: int | None, part_orders: int) -> int:
    """Share the store's customers out into parts of about ``part_orders``
    orders (those the refresh reads: from ``since`` on), biggest customers
    first, in a temporary table; returns how many parts.

    A customer's orders stay together (their segments and lapses need them
    all), so a customer with more orders than a part is a part of their own;
    a split by id modulo would put such a whale beside a full share of others.
    """
    recent = "1" if since_epoch is None else "CASE WHEN placed_at >= %s THEN 1 ELSE 0 END"
    params: list[Any] = [max(part_orders, 1)]
    if since_epoch is not None:
        params.append(instant(since_epoch))
    params.append(store.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PARTS_TABLE}")
        cursor.execute(
            # Cut the running total of orders, biggest customers first, every
            # part_orders; a whale spans several cuts, so number the parts densely.
            f"CREATE TEMPORARY TABLE {PARTS_TABLE} AS "  # noqa: S608 (our fragments; values are parameters)
            f"SELECT customer_id, DENSE_RANK() OVER (ORDER BY cut) - 1 AS part FROM ("
            f" SELECT customer_id, (CAST(SUM(n) OVER (ORDER BY n DESC, customer_id "
            f" ROWS UNBOUNDED PRECEDING) AS BIGINT) - n) / %s AS cut FROM ("
            f"  SELECT customer_id, SUM({recent}) AS n FROM stores_order"
            f"  WHERE store_id = %s AND customer_id IS NOT NULL GROUP BY customer_id) c) r",
            params,
        )
        cursor.execute(f"SELECT MAX(part) FROM {PARTS_TABLE}")  # noqa: S608 (our table)
        (last,) = cursor.fetchone()
    return 1 if last is None else int(last) + 1


def drop_parts() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PARTS_TABLE}")


def instant(epoch: int) -> Any:
    return connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(epoch, tz=UTC))


def load_orders(store: Store, since_epoch: int | None, part: Selection = Part(), raw: Any = None) -> pd.DataFrame:  # noqa: B008 (frozen)
    where = "store_id = %s"
    params: list[Any] = [store.pk]
    if since_epoch is not None:
        where += " AND placed_at >= %s"  # plain column: the (store, placed_at) index serves it
        params.append(instant(since_epoch))
    if not part.whole:
        condition, condition_params = part.orders_condition()
        where += f" AND {condition}"
        params += condition_params
    sql = (
        f"SELECT id, customer_id, {epoch_sql('placed_at')}, "  # noqa: S608 (our fragments; values are parameters)
        f"CASE WHEN status IN ({PAID_SQL}) THEN 1 ELSE 0 END, "
        f"CASE WHEN inquired THEN 1 ELSE 0 END, channel, "
        f"{cents_sql('amount')}, {cents_sql('refunded_amount')}, items "
        f"FROM {part.table} WHERE {where}"
    )
    raw = read_sql(
        sql, params,
        ["order_id", "customer_id", "epoch", "paid", "inquired", "channel",
         "amount_cents", "refund_cents", "items"],
        raw,
    )
    raw["day"] = epoch_to_day(raw["epoch"], store) if len(raw) else np.array([], dtype=np.int64)
    raw["paid"] = raw["paid"].astype(bool)
    raw["inquired"] = raw["inquired"].astype(bool)
    raw["customer_id"] = pd.to_numeric(raw["customer_id"], errors="coerce")
    for column in ("order_id", "amount_cents", "refund_cents", "items"):
        raw[column] = pd.to_numeric(raw[column]).astype(np.int64)
    return raw[compute.ORDER_COLUMNS]


def load_history(store: Store, before_epoch: int, part: Selection = Part(), raw: Any = None) -> pd.DataFrame:  # noqa: B008 (frozen)
    epoch = epoch_sql("placed_at")
    paid = f"status IN ({PAID_SQL})"
    in_part, part_params = part.customers_condition() if not part.whole else ("", [])
    in_part = f" AND {in_part}" if in_part else ""
    sql = (
        f"SELECT customer_id, MAX(CASE WHEN {paid} THEN {epoch} END), "  # noqa: S608 (our fragments; values are parameters)
        f"SUM(CASE WHEN {paid} THEN 1 ELSE 0 END), MIN(CASE WHEN {paid} THEN {epoch} END), "
        f"MAX({epoch}), MAX(CASE WHEN inquired THEN {epoch} END) "
        f"FROM {part.table} WHERE store_id = %s AND customer_id IS NOT NULL AND placed_at < %s{in_part} "
        f"GROUP BY customer_id"
    )
    params: list[Any] = [store.pk, instant(before_epoch), *part_params]
    raw = read_sql(
        sql, params,
        ["customer_id", "last_paid", "paid_count", "first_paid", "last_placed", "last_inquired"],
        raw,
    )
    if raw.empty:
        return pd.DataFrame(columns=compute.HISTORY_COLUMNS)
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(np.int64),
            "last_paid_day": epoch_to_day(raw["last_paid"], store),
            "paid_count": pd.to_numeric(raw["paid_count"]).fillna(0).astype(np.int64),
            "first_paid_day": epoch_to_day(raw["first_paid"], store),
            "last_placed_day": epoch_to_day(raw["last_placed"], store),
            "last_inquired_day": epoch_to_day(raw["last_inquired"], store),
        }
    )


def has_orders_before(store: Store, epoch: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM stores_order WHERE store_id = %s AND placed_at < %s)",
            [store.pk, instant(epoch)],
        )
        return bool(cursor.fetchone()[0])


def day_bounds(store: Store, since_epoch: int | None) -> tuple[int | None, int | None, int]:
    """First and last local day with orders (from ``since`` on), and the count."""
    where = "store_id = %s"
    params: list[Any] = [store.pk]
    if since_epoch is not None:
        where += " AND placed_at >= %s"
        params.append(instant(since_epoch))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {epoch_sql('MIN(placed_at)')}, {epoch_sql('MAX(placed_at)')}, COUNT(*) "  # noqa: S608 (our fragments; values are parameters)
            f"FROM stores_order WHERE {where}",
            params,
        )
        low, high, count = cursor.fetchone()
    if not count:
        return None, None, 0
    days = epoch_to_day(pd.Series([low, high]), store)
    return int(days[0]), int(days[1]), int(count)
