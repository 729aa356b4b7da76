"""A first import's orders in the rollups' shape, kept on disk as they load.

After a store's first import the rollup refresh would read back every order
the load has just written. The load has each of them in hand already, so it
writes the few columns the rollups need to an arrow file beside the upload
(about 45 bytes an order) and the refresh reads its parts from there: the
database is then free to write the customers meanwhile, and memory stays
that of one part, as when reading from the database.

Customers are numbered by the load (``positions``, 0..n-1); ``customer_ids``
maps them to their keys when the parts are read. Their lifetime columns are
added up from the same parts, as they are read (``Lifetimes``), and handed to
the load to write: the load keeps nothing per customer but a key and a count.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from stores.models import Store
from stores.rollups import compute
from stores.rollups.reads import epoch_to_day

SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer", pa.int64()),  # the load's position of the customer; -1: a guest
        ("placed_us", pa.int64()),  # microseconds since 1970, UTC
        ("paid", pa.bool_()),
        ("inquired", pa.bool_()),
        ("channel", pa.string()),
        ("amount_cents", pa.int64()),
        ("refund_cents", pa.int64()),
        ("items", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Lifetimes:
    """The lifetime columns of the customers at ``positions``, from their paid
    orders: first and last placed (microseconds; meaningless where
    ``paid_orders`` is 0), how many, and what they came to in cents."""

    positions: np.ndarray
    first_us: np.ndarray
    last_us: np.ndarray
    paid_orders: np.ndarray
    paid_cents: np.ndarray

    @classmethod
    def of(cls, positions: np.ndarray, orders: pa.Table) -> Lifetimes:
        """``positions``: sorted, holding every customer of ``orders``."""
        customer = orders.column("customer").to_numpy()
        paid = orders.column("paid").to_numpy(zero_copy_only=False) & (customer >= 0)
        at = np.searchsorted(positions, customer[paid])
        placed = orders.column("placed_us").to_numpy()[paid]
        cents = (orders.column("amount_cents").to_numpy() - orders.column("refund_cents").to_numpy())[paid]
        n = len(positions)
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, at, placed)
        np.maximum.at(last, at, placed)
        return cls(positions, first, last, np.bincount(at, minlength=n),
                   np.bincount(at, weights=cents, minlength=n).astype(np.int64))


def epoch_seconds(us: np.ndarray) -> np.ndarray:
    """Whole seconds as PostgreSQL's ``extract(epoch ...)::bigint`` gives them
    (half a second rounds away from zero)."""
    return np.sign(us) * ((np.abs(us) + 500_000) // 1_000_000)


class SpilledOrders:
    def __init__(self, owner: str = "", directory: Path | None = None) -> None:
        """``owner``: who writes it (an upload), named in the file's name. A
        worker killed mid-load leaves its file behind: the next spill of the
        same owner (the retry) deletes it."""
        prefix = f"rollup-orders-{owner}-" if owner else "rollup-orders-"
        folder = Path(directory or tempfile.gettempdir())
        if owner:
            for stale in folder.glob(f"{prefix}*.arrow"):
                stale.unlink(missing_ok=True)
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".arrow", dir=folder)
        os.close(handle)
        self.path: Path | None = Path(name)
        self._sink = pa.OSFile(name, "wb")
        self._writer: ipc.RecordBatchFileWriter | None = ipc.new_file(self._sink, SCHEMA)
        self.count = 0
        self.low_epoch: int | None = None
        self.high_epoch: int | None = None
        self.customer_ids = np.empty(0, dtype=np.int64)
        self.orders_per_customer = np.empty(0, dtype=np.int64)
        self.lifetimes_to: Callable[[Lifetimes], None] | None = None
        self.in_key_order: np.ndarray | None = None
        self.lifetimes_handed = False  # every customer's, once the parts were read

    def add(self, orders: pa.Table) -> None:
        assert self._writer is not None, "add() after finish()"
        self._writer.write_table(orders.select(SCHEMA.names).cast(SCHEMA))
        epochs = epoch_seconds(orders.column("placed_us").to_numpy())
        if len(epochs):
            low, high = int(epochs.min()), int(epochs.max())
            self.low_epoch = low if self.low_epoch is None else min(self.low_epoch, low)
            self.high_epoch = high if self.high_epoch is None else max(self.high_epoch, high)
        self.count += orders.num_rows

    def finish(self, customer_ids: np.ndarray, orders_per_customer: np.ndarray,
               lifetimes_to: Callable[[Lifetimes], None] | None = None,
               in_key_order: np.ndarray | None = None) -> None:
        """No more orders: each customer position's key and order count.
        ``lifetimes_to``: called with each part's customers' ``Lifetimes`` as
        ``parts`` reads them. ``in_key_order``: the positions in the order of
        the customers' external ids, which the parts then follow."""
        self._end_writing()
        self.customer_ids = customer_ids
        self.orders_per_customer = orders_per_customer
        self.in_key_order = in_key_order
        self.lifetimes_to = lifetimes_to
        self.lifetimes_handed = len(customer_ids) == 0

    def _end_writing(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._sink.close()

    def close(self) -> None:
        """Delete the file and any part files (safe to call again)."""
        self._end_writing()
        if self.path is not None:
            for part in self.path.parent.glob(f"{self.path.stem}.part*.arrow"):
                part.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            self.path = None

    def plan(self, part_orders: int) -> np.ndarray:
        """Each customer position's part, cut by running total of orders:
        in the customers' key order when known (``in_key_order``: each part
        is then a range of keys, and its customers, written as it is read,
        land at the right edge of the unique index: 2 s less at a million
        customers), else biggest customers first, as ``plan_parts`` shares
        them. A customer's orders stay in one part."""
        n = self.orders_per_customer
        order = self.in_key_order if self.in_key_order is not None else np.lexsort((self.customer_ids, -n))
        running = np.cumsum(n[order], dtype=np.int64) - n[order]
        cuts = running // max(part_orders, 1)
        parts = np.empty(len(n), dtype=np.int32)
        parts[order] = np.unique(cuts, return_inverse=True)[1]
        return parts

    def parts(self, store: Store, part_of: np.ndarray, count: int) -> Iterator[pd.DataFrame]:
        """Each part's orders as ``load_orders`` gives them (guest orders go
        by id, as there); its customers' lifetimes go to ``lifetimes_to``."""
        assert self.path is not None and self._writer is None, "parts() after finish(), before close()"
        paths = [self.path] if count == 1 else self._split(part_of, count)
        # Each part's customer positions, ascending: one sort, not a scan per part.
        by_part = np.argsort(part_of, kind="stable")
        bounds = np.searchsorted(part_of[by_part], np.arange(count + 1))
        for index, path in enumerate(paths):
            table = ipc.open_file(str(path)).read_all()
            if path != self.path:
                path.unlink(missing_ok=True)
            positions = (np.arange(len(self.customer_ids)) if count == 1
                         else by_part[bounds[index]:bounds[index + 1]])
            if self.lifetimes_to is not None:
                self.lifetimes_to(Lifetimes.of(positions, table))
            if index == count - 1:
                self.lifetimes_handed = True
            yield self._frame(store, table)

    def _split(self, part_of: np.ndarray, count: int) -> list[Path]:
        """The orders written again as one file per part, in one pass: each
        part read from the whole file would read it ``count`` times (21 at
        5M lines: 5 s)."""
        assert self.path is not None
        paths = [self._part_path(index) for index in range(count)]
        sinks = [pa.OSFile(str(path), "wb") for path in paths]
        writers = [ipc.new_file(sink, SCHEMA) for sink in sinks]
        try:
            reader = ipc.open_file(str(self.path))
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                customer = batch.column("customer").to_numpy()
                guest = customer < 0
                part = np.empty(len(customer), dtype=np.int64)
                part[~guest] = part_of[customer[~guest]]
                part[guest] = batch.column("order_id").to_numpy()[guest] % count
                order = np.argsort(part, kind="stable")  # the file's order within a part
                bounds = np.searchsorted(part[order], np.arange(count + 1))
                rows = batch.take(pa.array(order))
                for index in range(count):
                    if bounds[index + 1] > bounds[index]:
                        writers[index].write_batch(rows.slice(bounds[index], bounds[index + 1] - bounds[index]))
        finally:
            for writer, sink in zip(writers, sinks, strict=True):
                writer.close()
                sink.close()
        return paths

    def _part_path(self, index: int) -> Path:
        assert self.path is not None
        return self.path.with_name(f"{self.path.stem}.part{index}.arrow")

    def _frame(self, store: Store, table: pa.Table) -> pd.DataFrame:
        customer = table.column("customer").to_numpy()
        # Position -1 (a guest) takes the NaN appended last.
        ids = np.append(self.customer_ids.astype(np.float64), np.nan)[customer]
        frame = pd.DataFrame(
            {
                "order_id": table.column("order_id").to_numpy(),
                "customer_id": ids,
                "day": _epoch_days(epoch_seconds(table.column("placed_us").to_numpy()), store),
                "paid": table.column("paid").to_numpy(zero_copy_only=False),
                "inquired": table.column("inquired").to_numpy(zero_copy_only=False),
                "channel": table.column("channel").to_pandas(),
                "amount_cents": table.column("amount_cents").to_numpy(),
                "refund_cents": table.column("refund_cents").to_numpy(),
                "items": table.column("items").to_numpy(),
            }
        )
        return frame[compute.ORDER_COLUMNS]


def _epoch_days(epochs: np.ndarray, store: Store) -> np.ndarray:
    return epoch_to_day(pd.Series(epochs), store)
