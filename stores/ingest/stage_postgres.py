"""PostgreSQL staging: validated chunks into temporary tables, by COPY.

Order rows are split as they arrive: each line goes to ``ingest_stage_lines``
(numbered within its order), and each order gets one row of partial
aggregates in ``ingest_stage_orders`` (arrow's hash aggregation, exact decimal
sums). Exports list an order's lines together, so the last order of a chunk is
held back and joined to the next chunk: then every order has exactly one
partial row and the loader uses them as they are. When a file scatters an
order's lines (a generic CSV may), the loader sees ``orders_unique`` False and
adds the partials up in SQL instead, and numbers the lines again.

Each COPY runs on a thread of its own while the caller parses the next chunk:
PostgreSQL and Python then use both cores. The caller must not touch the
database connection while a COPY runs: ``stage()`` and ``finish()`` wait for
the previous one, and the pipeline reports progress before it stages a chunk
(a query on the connection meanwhile would only wait for the COPY).
"""

# ruff: noqa: S608 - the only names formatted into SQL are our own tables' names.
from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection

from stores.ingest.validate import STAGE_ORDER_COLUMNS, STAGE_TRAFFIC_COLUMNS
from stores.ingest.whole_orders import no_lines

STATUS_RANK = ("closed", "unpaid", "refunded", "paid")  # a later status wins
# Exact for 8 decimals; money with more is cut there (numeric(16,2) keeps 2).
MONEY = pa.decimal128(27, 8)
QUANTITY = pa.decimal128(10, 0)


ORDER_STAGE_COLUMNS = [
    "order_id", "customer_id", "placed_at", "paid_at", "status_rank", "amount",
    "refunded_amount", "line_amount", "line_value", "line_refund", "items", "quantity",
    "channel", "inquired", "lines", "rows",
]

_TABLES = {
    "orders": (
        "ingest_stage_orders",
        """(order_id text, customer_id text, placed_at timestamp, paid_at timestamp,
            status_rank integer, amount numeric, refunded_amount numeric, line_amount numeric,
            line_value numeric, line_refund numeric, items bigint, quantity bigint,
            channel text, inquired boolean, lines integer, rows integer)""",
    ),
    "lines": (
        "ingest_stage_lines",
        """(order_id text, row_no bigint, line_no integer, sku text, title text,
            quantity integer, unit_price numeric, amount numeric)""",
    ),
    "traffic": (
        "ingest_stage_traffic",
        """(row_no bigint, date date, channel text, visitors bigint, page_views bigint,
            inquirers bigint, inquiry_placers bigint)""",
    ),
}
_WRITE = pacsv.WriteOptions(include_header=False)
_ANY = pc.ScalarAggregateOptions(skip_nulls=True, min_count=1)


def _utc_as_naive(table: pa.Table) -> pa.Table:
    """UTC times as plain timestamps: arrow writes zoned ones twenty times
    slower. The staging columns are ``timestamp`` holding UTC."""
    for i, column_type in enumerate(table.schema.types):
        if pa.types.is_timestamp(column_type) and column_type.tz is not None:
            raw = table.column(i).cast(pa.int64()).cast(pa.timestamp(column_type.unit))
            table = table.set_column(i, table.schema.names[i], raw)
    return table


def _money(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_decimal(column.type):
        return column.cast(MONEY)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    try:
        return pc.cast(column, MONEY, safe=False)
    except pa.ArrowInvalid:
        # Text arrow's decimal parser refuses ("1e3"): through a float, as
        # PostgreSQL's numeric would read it to the cent.
        return pc.cast(pc.cast(column, pa.float64()), MONEY, safe=False)


def _run_starts(ids: pa.Array) -> np.ndarray:
    """Where each run of equal ids starts."""
    change = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        change[1:] = pc.fill_null(pc.not_equal(ids[1:], ids[:-1]), True).to_numpy(zero_copy_only=False)
    return np.flatnonzero(change)


def _order_runs(ids: pa.Array) -> np.ndarray | None:
    """Where each order's rows start, when each order's rows come together
    (as exports list them); None when an id comes back after another.

    Exports number their orders as they come in, so the runs' ids usually
    rise: then they are distinct without hashing them."""
    starts = _run_starts(ids)
    firsts = ids.take(starts)
    if firsts.null_count == 0 and (len(starts) < 2 or pc.all(pc.less(firsts[:-1], firsts[1:])).as_py()):
        return starts
    return starts if pc.count_distinct(firsts, mode="all").as_py() == len(starts) else None


def _numbers_in_runs(starts: np.ndarray, n: int) -> np.ndarray:
    """1, 2, ... within each run of ``n`` rows whose runs begin at ``starts``."""
    return (np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n))) + 1).astype(np.int32)


def _line_numbers(order_ids: pa.Array, *, together: bool) -> np.ndarray:
    """1, 2, ... for the lines of each order, in file order; ``together``:
    each order's lines come in one run."""
    if together:
        return _numbers_in_runs(_run_starts(order_ids), len(order_ids))
    # Otherwise each order's lines brought together (a stable sort keeps file order).
    codes = pc.dictionary_encode(order_ids).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_codes[1:] != sorted_codes[:-1]])) if len(codes) else codes
    numbers = np.empty(len(codes), dtype=np.int32)
    numbers[order] = _numbers_in_runs(starts, len(codes))
    return numbers


def order_partials(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(one row of partial aggregates per order, the lines) of a chunk."""
    order_ids = table.column("order_id").combine_chunks()
    starts = _order_runs(order_ids)
    quantity = table.column("quantity")
    unit_price = _money(table.column("unit_price"))
    rank = pc.add(pc.index_in(table.column("status"), value_set=pa.array(STATUS_RANK)), 1)
    work = pa.table(
        {
            "order_id": order_ids,
            "customer_id": table.column("customer_id").cast(pa.string()),
            "placed_at": table.column("placed_at"),
            "paid_at": table.column("paid_at"),
            "status_rank": rank,
            "amount": _money(table.column("amount")),
            "refunded_amount": _money(table.column("refunded_amount")),
            "line_amount": _money(table.column("line_amount")),
            "unit_price": unit_price,
            "line_value": pc.multiply(quantity.cast(pa.int32()).cast(QUANTITY), unit_price),
            "line_refund": _money(table.column("line_refund")),
            "items": table.column("items").cast(pa.int64()),
            "quantity": quantity.cast(pa.int64()),
            "channel": table.column("channel").cast(pa.string()),
            "inquired": table.column("inquired").cast(pa.bool_()),
            "is_line": pc.is_valid(quantity),
        }
    )
    aggregates = [
        ("customer_id", "max"), ("placed_at", "min"), ("paid_at", "max"),
        ("status_rank", "max"), ("amount", "max"), ("refunded_amount", "max"),
        ("line_amount", "sum", _ANY), ("line_value", "sum", _ANY),
        ("line_refund", "sum", _ANY), ("items", "max"), ("quantity", "sum", _ANY),
        ("channel", "max"), ("inquired", "any", _ANY), ("is_line", "sum"),
    ]
    partials = _aggregate_orders(work, aggregates, starts)
    is_line = work.column("is_line")
    lines = table.select(["order_id", "row_no", "sku", "title"]).filter(is_line)
    money = work.select(["quantity", "unit_price", "line_amount", "line_value"]).filter(is_line)
    lines = pa.table(
        {
            "order_id": lines.column("order_id"),
            "row_no": lines.column("row_no"),
            "line_no": pa.array(_line_numbers(lines.column("order_id").combine_chunks(), together=starts is not None)),
            "sku": lines.column("sku").cast(pa.string()),
            "title": lines.column("title").cast(pa.string()),
            "quantity": money.column("quantity").cast(pa.int32()),
            "unit_price": money.column("unit_price"),
            "amount": _first_present(money.column("line_amount"), money.column("line_value")),
        }
    )
    return partials, lines


Job = tuple[str, list[str], bytes] | Callable[[Any], None]


def _first_present(values: pa.ChunkedArray, fallback: pa.ChunkedArray) -> pa.ChunkedArray:
    """``coalesce``, without its pass when ``values`` are all there or all missing."""
    if values.null_count == len(values):
        return fallback
    if values.null_count == 0:
        return values
    return pc.coalesce(values, fallback)


def _aggregate_orders(work: pa.Table, aggregates: list[tuple], starts: np.ndarray | None) -> pa.Table:
    """One row per order of ``work``, in ORDER_STAGE_COLUMNS.

    Exports list an order's rows together (``starts``, from ``_order_runs``):
    grouped by their runs (an integer key hashes faster than the text), else
    by id. A column empty in the whole chunk (most exports leave refunds or
    line totals out) is not aggregated: its partials are empty too."""
    key = "order_no" if starts is not None else "order_id"
    if starts is not None:
        run_start = np.zeros(work.num_rows, dtype=np.int64)
        run_start[starts] = 1
        work = work.append_column(key, pa.array(np.cumsum(run_start)))
    empty = {name for name in work.column_names if work.column(name).null_count == work.num_rows}
    wanted = [a for a in aggregates if a[0] not in empty]
    grouped = work.group_by(key, use_threads=False).aggregate([*wanted, ([], "count_all")])
    if starts is not None:
        # The groups in the runs' order, as the order ids taken below.
        runs = grouped.column(key).to_numpy()
        if len(runs) > 1 and not (runs[1:] > runs[:-1]).all():
            grouped = grouped.take(np.argsort(runs))
    n = grouped.num_rows

    def column(name: str, how: str) -> pa.ChunkedArray | pa.Array:
        # An aggregate of nothing but nulls is null (min_count 1).
        return pa.nulls(n, work.schema.field(name).type) if name in empty else grouped.column(f"{name}_{how}")

    return pa.table(
        [work.column("order_id").take(starts) if starts is not None else grouped.column("order_id")]
        + [column(name, how) for name, how, *_ in aggregates]
        + [grouped.column("count_all")],
        names=ORDER_STAGE_COLUMNS,
    )


class WholeData:
    """COPY data for psycopg2's ``copy_expert``, handed to libpq all at once
    and without a copy. psycopg2 reads a file 8 KB at a time, taking the GIL
    back for each piece while the parser holds it: the server waited for
    data between the pieces. (``io.BytesIO`` would copy the chunk's CSV.)"""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, None
        return data if data is not None else b""


class _Copier:
    """COPY on a thread, one table at a time, errors raised in the caller."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, jobs: Sequence[Job]) -> None:
        """Run the jobs on the thread: a COPY of (table, columns, CSV bytes),
        or a function of a cursor."""
        self.wait()
        raw = connection.connection  # psycopg2's own: Django's wrapper is per thread

        def run() -> None:
            try:
                with raw.cursor() as cursor:
                    for job in jobs:
                        if callable(job):
                            job(cursor)
                            continue
                        table, columns, data = job
                        cursor.copy_expert(
                            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                            WholeData(data),
                        )
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=run, name="ingest-copy", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            # A lost server is Django's OperationalError, which the task retries.
            with connection.wrap_database_errors:
                raise error


def _shortest(table: pa.Table) -> pa.Table:
    """Cents and whole seconds where nothing finer is there: fewer bytes for
    COPY to parse than arrow's full scale ("49.45000000", ":00.000000")."""
    for i, column_type in enumerate(table.schema.types):
        if pa.types.is_decimal(column_type) and column_type.scale > 2:
            target: pa.DataType = pa.decimal128(column_type.precision - column_type.scale + 2, 2)
        elif pa.types.is_timestamp(column_type) and column_type.unit != "s":
            target = pa.timestamp("s", tz=column_type.tz)
        else:
            continue
        with contextlib.suppress(pa.ArrowInvalid):  # finer values present: written in full
            table = table.set_column(i, table.schema.names[i], table.column(i).cast(target))
    return table


def csv_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(_utc_as_naive(_shortest(table)), buffer, _WRITE)
    return buffer.getvalue()


class PostgresStager:
    catches_repeated_orders = False  # staging adds an order's rows up, wherever they are

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.orders_unique = True
        self._finished = False
        self._created: set[str] = set()
        self._carry: pa.Table | None = None
        self._order_hashes: list[np.ndarray] = []
        self._copier = _Copier()

    def _ensure(self, names: list[str]) -> None:
        with connection.cursor() as cursor:
            for name in names:
                if name not in self._created:
                    table, ddl = _TABLES[name]
                    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} {ddl}")
                    cursor.execute(f"TRUNCATE {table}")
                    self._created.add(name)

    def stage(self, kind: str, frame: pd.DataFrame) -> None:
        """Stage a chunk: its rows are made ready while the previous chunk's
        COPY may still run, then copied on the thread."""
        self.kinds.add(kind)
        if kind == "traffic":
            table = pa.Table.from_pandas(frame[list(STAGE_TRAFFIC_COLUMNS)], preserve_index=False)
            data = csv_bytes(table)
            self.wait()
            self._ensure(["traffic"])
            self._copier.start([(_TABLES["traffic"][0], list(STAGE_TRAFFIC_COLUMNS), data)])
            return
        table = pa.Table.from_pandas(frame[list(STAGE_ORDER_COLUMNS)], preserve_index=False)
        if self._carry is not None:
            table = pa.concat_tables([self._carry, table], promote_options="permissive")
        # Hold back the last order's rows: its next lines may open the next chunk.
        order_ids = table.column("order_id")
        last = order_ids[len(order_ids) - 1]
        tail = len(order_ids) - 1
        same = pc.equal(order_ids, last).to_numpy(zero_copy_only=False)
        while tail > 0 and same[tail - 1]:
            tail -= 1
        self._carry = table.slice(tail)
        self._stage_orders(table.slice(0, tail))

    def wait(self) -> None:
        self._copier.wait()

    def drop_held(self, order_ids: set[str]) -> pd.DataFrame:
        """Take back the held rows (the last order, not written yet) of these
        orders: a later line of theirs was refused. Their row_no and order_id."""
        if self._carry is None or not order_ids:
            return no_lines()
        mine = pc.is_in(self._carry.column("order_id"), value_set=pa.array(sorted(order_ids), pa.string()))
        dropped = self._carry.filter(mine).select(["row_no", "order_id"]).to_pandas()
        kept = self._carry.filter(pc.invert(mine))
        self._carry = kept if kept.num_rows else None
        return dropped

    def reset(self) -> None:
        """Empty the staging tables: the file is read again from the top."""
        self.wait()
        with connection.cursor() as cursor:
            for name in self._created:
                cursor.execute(f"TRUNCATE {_TABLES[name][0]}")
        self.kinds.clear()
        self.orders_unique = True
        self._finished = False
        self._carry = None
        self._order_hashes = []

    def _stage_orders(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        partials, lines = order_partials(table)
        ids = partials.column("order_id").to_numpy(zero_copy_only=False)
        self._order_hashes.append(pd.util.hash_array(ids.astype(object), categorize=False))
        jobs = [
            (_TABLES["orders"][0], ORDER_STAGE_COLUMNS, csv_bytes(partials)),
            (_TABLES["lines"][0], list(lines.schema.names), csv_bytes(lines)),
        ]
        self.wait()
        self._ensure(["orders", "lines"])
        self._copier.start(jobs)

    def finish(self) -> None:
        """Stage what is held back, wait for the last COPY and settle whether
        every order is one row. Calls after the first do nothing."""
        if self._finished:
            return
        self.wait()
        if self._carry is not None:
            carry, self._carry = self._carry, None
            self._stage_orders(carry)
            self.wait()
        if self._order_hashes:
            hashes = np.sort(np.concatenate(self._order_hashes))
            # A 64-bit collision only sends the load down the adding-up path.
            self.orders_unique = not bool((hashes[1:] == hashes[:-1]).any())
            self._order_hashes = []
        self._finished = True

    def close(self) -> None:
        # Closing after a failure: the first error stands.
        with contextlib.suppress(Exception):
            self.wait()
        if connection.connection is None or not self._created or not connection.is_usable():
            # A lost connection took its temporary tables with it.
            self._created.clear()
            return
        with connection.cursor() as cursor:
            for name in self._created:
                cursor.execute(f"DROP TABLE IF EXISTS {_TABLES[name][0]}")
        self._created.clear()

