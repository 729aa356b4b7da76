"""A store's first import: COPY straight into the real tables.

The first upload into a store is its history, often a year of orders: the
largest load it will ever take, and one where every order and customer is
new. Staging each row in a temporary table and copying it again into the
real ones (``stage_postgres`` then ``load_postgres``) costs that history
twice. Here the load takes the store's lock first, finds the store has no
orders or customers, and COPYs each chunk's orders and lines straight into
``stores_order`` and ``stores_orderline``, on a thread while the next chunk
is parsed, inside the load's one transaction: a refused file still leaves
the database as it was. Keys are drawn from the tables' sequences in blocks;
customers are numbered as they first appear (``CustomerKeys``). Each order's
rollup columns go to a file on disk (``rollups.spill``) as it is written; the
refresh after the load reads them there a part at a time, and each part's
customers are COPYed with their lifetime columns, added up from the same
orders, while the next part is computed. Per customer the load keeps only its
key, its id and its number of orders, so memory hardly grows with the file.

What the staged path would do differently, it still does: a file that lists
an order again in a later chunk (a generic CSV may scatter its lines) hits
the orders' unique key, and the load starts again on the staged path, which
adds such orders up (``OrdersScattered``).
"""

# ruff: noqa: S608 - the only names formatted into SQL are our own tables' names.
from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import IntegrityError, connection, transaction

from stores.ingest.customer_keys import CustomerKeys
from stores.ingest.results import LoadCounts
from stores.ingest.stage_postgres import (
    MONEY,
    STATUS_RANK,
    Job,
    PostgresStager,
    WholeData,
    csv_bytes,
    order_partials,
)
from stores.models import PAID_STATUSES, Customer, Order, OrderLine, Store, Upload
from stores.rollups.spill import Lifetimes, SpilledOrders

ORDER_COLUMNS = [
    "id", "store_id", "external_id", "customer_id", "placed_at", "paid_at", "status", "amount",
    "refunded_amount", "items", "channel", "inquired", "upload_id",
]  # updated_at: the transaction's start, the column's default (migration 0011)
LINE_COLUMNS = ["order_id", "line_no", "sku", "title", "quantity", "unit_price", "amount"]
CUSTOMER_COLUMNS = [
    "id", "store_id", "external_id", "first_paid_at", "last_paid_at", "paid_orders", "paid_amount",
]
CENTS = pa.decimal128(21, 2)  # what numeric(16, 2) holds, with room for sums
# Customers written as CSV at a time, at the end of a first import.
CUSTOMER_SLICE = 100_000
# Keys drawn from a sequence at a time: a round trip per quarter million rows.
ID_BLOCK = 1 << 18
_ZERO = pa.scalar(Decimal(0), MONEY)


class OrdersScattered(Exception):
    """The file lists an order again in a later chunk: load it the staged way."""


def store_is_new(store: Store) -> bool:
    """No orders and no customers yet: a first import can go straight in."""
    return not (
        Order.objects.filter(store=store).exists() or Customer.objects.filter(store=store).exists()
    )


class _Ids:
    """Keys from a table's id sequence, drawn a block at a time: the next
    block on the COPY thread (``refill``) before the pool runs out."""

    def __init__(self, table: str) -> None:
        self._table = table
        self._sequence: str | None = None
        self._pool = np.empty(0, dtype=np.int64)
        self._incoming: np.ndarray | None = None
        self._refilling = False
        self._last = 0  # keys the last chunk took: what the next ones may take

    def short_of(self, n: int) -> bool:
        return len(self._pool) < n

    def take(self, n: int) -> np.ndarray:
        """``n`` keys; when the pool is short, the connection must be free."""
        if self.short_of(n):
            # Enough for a few chunks like this one; the thread draws the rest.
            with connection.cursor() as cursor:
                drawn = self._draw(cursor, max(n - len(self._pool), min(4 * n, ID_BLOCK)))
            self._pool = np.concatenate([self._pool, drawn])
        taken, self._pool = self._pool[:n], self._pool[n:]
        self._last = n
        return taken

    def refill(self) -> Callable[[Any], None] | None:
        """A job drawing the next block, when the pool is running low."""
        if self._refilling or self._sequence is None or len(self._pool) >= 3 * self._last:
            return None
        self._refilling = True
        size = min(8 * self._last, ID_BLOCK)

        def draw(cursor: Any) -> None:
            self._incoming = self._draw(cursor, size)

        return draw

    def settle(self) -> None:
        """Take in a block the thread drew (once the thread has ended)."""
        if self._incoming is not None:
            self._pool = np.concatenate([self._pool, self._incoming])
            self._incoming = None
        self._refilling = False

    def _draw(self, cursor: Any, n: int) -> np.ndarray:
        if self._sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self._table])
            (self._sequence,) = cursor.fetchone()
        # The keys come back as their bounds, not one row per key: one run
        # unless another session drew keys meanwhile. Then that block is left
        # as a gap (a sequence's keys need not be contiguous) and drawn again,
        # at last as runs (first, last, how many): one session's nextval calls
        # rise with generate_series.
        for _attempt in range(3):
            cursor.execute(
                "SELECT min(v), max(v), count(*) FROM (SELECT nextval(%s) AS v FROM generate_series(1, %s)) drawn",
                [self._sequence, n],
            )
            low, high, count = cursor.fetchone()
            if high - low + 1 == count:
                return np.arange(low, high + 1, dtype=np.int64)
        cursor.execute(
            "SELECT min(v), max(v), count(*) FROM ("
            " SELECT g, nextval(%s) AS v FROM generate_series(1, %s) g) drawn "
            "GROUP BY v - g ORDER BY 1",
            [self._sequence, n],
        )
        runs = cursor.fetchall()
        if any(high - low + 1 != count for low, high, count in runs):  # not in order after all
            raise RuntimeError("keys drawn out of order")  # pragma: no cover - PostgreSQL does not
        return np.concatenate([np.arange(low, high + 1, dtype=np.int64) for low, high, _count in runs])


class _Customers:
    """Each customer position's id and how many orders it placed so far."""

    def __init__(self) -> None:
        self.ids = np.empty(0, dtype=np.int64)
        self.placed = np.empty(0, dtype=np.int32)
        self.count = 0

    def grow(self, ids: np.ndarray) -> None:
        """Room for new customers (the next positions) with these keys."""
        needed = self.count + len(ids)
        if needed > len(self.ids):
            size = max(needed, len(self.ids) + len(self.ids) // 4, 1024)  # a quarter more: memory
            for name in ("ids", "placed"):
                old = getattr(self, name)
                grown = np.zeros(size, dtype=old.dtype)
                grown[: self.count] = old[: self.count]
                setattr(self, name, grown)
        self.ids[self.count : needed] = ids
        self.count = needed

    def add_placed(self, positions: np.ndarray) -> None:
        """Orders of any status, each of the customer at ``positions``."""
        np.add.at(self.placed, positions, 1)


def _customer_rows(store_id: int, ids: np.ndarray, keys: pa.Array, lifetimes: Lifetimes) -> pa.Table:
    paid = lifetimes.paid_orders > 0
    cents = pa.array(lifetimes.paid_cents).cast(pa.decimal128(20, 0))
    return pa.table(
        {
            "id": ids,
            "store_id": np.full(len(ids), store_id, dtype=np.int64),
            "external_id": keys,
            "first_paid_at": pa.array(lifetimes.first_us, mask=~paid).cast(pa.timestamp("us")),
            "last_paid_at": pa.array(lifetimes.last_us, mask=~paid).cast(pa.timestamp("us")),
            "paid_orders": lifetimes.paid_orders,
            "paid_amount": pc.multiply(cents, pa.scalar(Decimal("0.01"))).cast(CENTS),
        }
    )


def _cents(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Money rounded to the cent as numeric(16, 2) does (half away from zero)."""
    try:
        return values.cast(CENTS)  # exact cents already, as exports write them
    except pa.ArrowInvalid:
        return pc.round(values, ndigits=2, round_mode="half_towards_infinity").cast(CENTS)


def _copy_slices(table_name: str, columns: list[str], rows: pa.Table, size: int) -> Job:
    """A job COPYing ``rows`` a slice at a time, each written as CSV on the
    thread: a million customers never sit in memory as text at once."""

    def run(cursor: Any) -> None:
        for start in range(0, rows.num_rows, size):
            cursor.copy_expert(
                f"COPY {table_name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                WholeData(csv_bytes(rows.slice(start, size))),
            )

    return run


def _as_cents(money: pa.Array) -> np.ndarray:
    return pc.multiply(money, pa.scalar(Decimal(100))).cast(pa.int64()).to_numpy(zero_copy_only=False)


def _epoch_us(moments: pa.ChunkedArray) -> np.ndarray:
    unit_type = pa.timestamp("us", tz=moments.type.tz)
    return pc.cast(moments, unit_type, safe=False).cast(pa.int64()).to_numpy(zero_copy_only=False)


class DirectStager(PostgresStager):
    """Orders COPYed into the real tables (traffic is staged as usual).
    Create inside the load's transaction, after ``lock_store``."""

    # An order COPYed already that a later chunk lists again fails its unique
    # key (OrdersScattered): so does a repeat of one of its lines.
    catches_repeated_orders = True

    def __init__(self, *, store: Store, upload: Upload) -> None:
        super().__init__()
        self.store, self.upload = store, upload
        self._order_ids = _Ids(Order._meta.db_table)
        self._customer_ids = _Ids(Customer._meta.db_table)
        with connection.cursor() as cursor:
            # Times are written as UTC without a zone: the fast way for arrow.
            cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        self._begin()

    def _begin(self) -> None:
        self._savepoint = transaction.savepoint()
        self.counts = LoadCounts()
        self.earliest: datetime | None = None
        self._keys = CustomerKeys()
        self._customers = _Customers()
        # The rollups' columns of every order, for the refresh after the load.
        self.spilled = SpilledOrders(owner=f"upload{self.upload.pk}")

    def reset(self) -> None:
        """Undo what was written: the file is read again from the top."""
        self.wait()
        transaction.savepoint_rollback(self._savepoint)
        self._created.clear()  # the temporary tables went with the savepoint
        self.kinds.clear()
        self._finished = False
        self._carry = None
        self.spilled.close()
        self._begin()

    def abandon(self) -> None:
        """Let a COPY still running end, whatever its outcome: the load failed
        and its transaction is about to be rolled back."""
        with contextlib.suppress(Exception):
            self._copier.wait()
        self.spilled.close()

    def close(self) -> None:
        super().close()
        self.spilled.close()

    def wait(self) -> None:
        try:
            super().wait()
            self._order_ids.settle()
            self._customer_ids.settle()
            if self.spilled.lifetimes_to is not None:
                if not self.spilled.lifetimes_handed:
                    raise RuntimeError("customers are written as the refresh reads the spilled orders: refresh first")
                self._keys = CustomerKeys()  # all written
        except IntegrityError as exc:
            cause = exc.__cause__
            diag = getattr(cause, "diag", None)
            if getattr(diag, "constraint_name", None) == "order_unique_store_external_id":
                raise OrdersScattered(str(cause)) from exc
            raise

    def _stage_orders(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        partials, lines = order_partials(table)
        # Keys in the order the orders were placed: the indexes grow at their right edge.
        partials = partials.sort_by([("placed_at", "ascending"), ("order_id", "ascending")])
        n = partials.num_rows
        buyers = partials.column("customer_id").combine_chunks()
        distinct = pc.unique(buyers.drop_null())
        positions, new = self._keys.positions(distinct)
        if self._order_ids.short_of(n) or self._customer_ids.short_of(int(new.sum())):
            self.wait()  # the connection draws the keys
        order_ids = self._order_ids.take(n)
        self._customers.grow(self._customer_ids.take(int(new.sum())))
        # Each order's customer position; -1 for a guest checkout.
        of_buyer = pc.fill_null(pc.index_in(buyers, value_set=distinct), len(distinct))
        order_position = np.append(positions, -1)[of_buyer.to_numpy()]
        guest = order_position < 0
        status = pc.take(pa.array(STATUS_RANK), pc.subtract(partials.column("status_rank"), 1))
        amount = _cents(pc.coalesce(partials.column("amount"), partials.column("line_amount"),
                                    partials.column("line_value"), _ZERO))
        refunded = _cents(pc.coalesce(partials.column("refunded_amount"),
                                      partials.column("line_refund"), _ZERO))
        placed = partials.column("placed_at")
        placed_us = _epoch_us(placed)
        is_paid = pc.is_in(status, value_set=pa.array(list(PAID_STATUSES))).to_numpy(zero_copy_only=False)
        amount_cents, refund_cents = _as_cents(amount), _as_cents(refunded)
        self._customers.add_placed(order_position[~guest])
        items = pc.coalesce(partials.column("items"), partials.column("quantity"), pa.scalar(0, pa.int64()))
        channel = pc.coalesce(partials.column("channel"), pa.scalar("other"))
        self.spilled.add(pa.table({
            "order_id": order_ids, "customer": order_position, "placed_us": placed_us,
            "paid": is_paid, "inquired": pc.fill_null(partials.column("inquired"), False),
            "channel": channel, "amount_cents": amount_cents, "refund_cents": refund_cents, "items": items,
        }))
        orders = pa.table(
            {
                "id": order_ids,
                "store_id": np.full(n, self.store.pk, dtype=np.int64),
                "external_id": partials.column("order_id"),
                "customer_id": pa.array(np.append(self._customers.ids[: self._customers.count], 0)[order_position],
                                        mask=guest),
                "placed_at": placed,
                "paid_at": partials.column("paid_at"),
                "status": status,
                "amount": amount,
                "refunded_amount": refunded,
                "items": items,
                "channel": channel,
                "inquired": partials.column("inquired"),
                "upload_id": np.full(n, self.upload.pk, dtype=np.int64),
            }
        )
        of_order = pc.index_in(lines.column("order_id"), value_set=partials.column("order_id"))
        order_lines = pa.table(
            {
                "order_id": pa.array(order_ids).take(of_order),
                "line_no": lines.column("line_no"),
                "sku": pc.coalesce(lines.column("sku"), pa.scalar("")),
                "title": pc.coalesce(lines.column("title"), pa.scalar("")),
                "quantity": lines.column("quantity"),
                "unit_price": _cents(pc.coalesce(lines.column("unit_price"), _ZERO)),
                "amount": _cents(pc.coalesce(lines.column("amount"), _ZERO)),
            }
        )
        jobs: list[Job] = [
            (Order._meta.db_table, ORDER_COLUMNS, csv_bytes(orders)),
            (OrderLine._meta.db_table, LINE_COLUMNS, csv_bytes(order_lines)),
        ]
        jobs += [job for job in (self._order_ids.refill(), self._customer_ids.refill()) if job]
        self.counts.rows_loaded += int(pc.sum(partials.column("rows")).as_py())
        self.counts.orders_created += n
        self.counts.lines_written += order_lines.num_rows
        self.wait()
        self._copier.start(jobs)

    def complete(self) -> LoadCounts:
        """What the load did; call once the file is read. The customers are
        written as the rollup refresh reads the spilled orders' parts
        (``rollups_refresh(spilled=...)``), and ``wait()`` before using the
        connection again."""
        self.finish()  # the last COPY has ended
        n = self._customers.count
        self.spilled.finish(self._customers.ids[:n].copy(), self._customers.placed[:n].copy(),
                            lifetimes_to=self._write_customers,
                            in_key_order=pc.sort_indices(self._keys.keys()).to_numpy() if n else None)
        self._customers = _Customers()
        self._keys.seal()
        self.counts.customers_created = n
        if self.spilled.low_epoch is not None:
            self.earliest = datetime.fromtimestamp(self.spilled.low_epoch, tz=UTC)
        return self.counts

    def _write_customers(self, lifetimes: Lifetimes) -> None:
        """COPY a part's customers on the thread, in key order: the parts are
        ranges of keys (``SpilledOrders.plan``), so the unique (store,
        external id) index takes them all left to right."""
        if not len(lifetimes.positions):
            return
        customers = _customer_rows(self.store.pk, self.spilled.customer_ids[lifetimes.positions],
                                   self._keys.keys().take(pa.array(lifetimes.positions)), lifetimes)
        customers = customers.take(pc.sort_indices(customers, [("external_id", "ascending")]))
        self._copier.start([_copy_slices(Customer._meta.db_table, CUSTOMER_COLUMNS, customers, CUSTOMER_SLICE)])

__all__ = ["DirectStager", "OrdersScattered", "store_is_new"]
