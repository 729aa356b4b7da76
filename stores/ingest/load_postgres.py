"""PostgreSQL: COPY validated rows into a temporary staging table, then one
set-based upsert per real table, under a per-store advisory lock.

Staging happens outside the load transaction (the temporary table belongs to
this session only), so parsing runs in parallel for many uploads; only the
upsert, the rollup refresh and the Upload status change are serialised per
store, and they commit together or not at all.
"""

# ruff: noqa: S608 - the only names formatted into SQL are our own tables' names.
from __future__ import annotations

import io
import zoneinfo
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection

from stores.ingest.results import LoadCounts
from stores.ingest.validate import STAGE_ORDER_COLUMNS, STAGE_TRAFFIC_COLUMNS
from stores.models import Customer, Order, OrderLine, Store, TrafficDaily, Upload

# Namespaces of our advisory locks (the first int of the two-int form).
LOCK_STORE = 7270001
LOCK_UPLOAD = 7270002

_STAGE_DDL = {
    "orders": """
        CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage_orders (
            row_no bigint, order_id text, customer_id text, placed_at timestamp,
            paid_at timestamp, status text, amount numeric, refunded_amount numeric,
            line_amount numeric, line_refund numeric, items integer, channel text,
            inquired boolean, sku text, title text, quantity integer, unit_price numeric
        )""",
    "traffic": """
        CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage_traffic (
            row_no bigint, date date, channel text, visitors bigint, page_views bigint,
            inquirers bigint, inquiry_placers bigint
        )""",
}
_STAGE_COLUMNS = {"orders": STAGE_ORDER_COLUMNS, "traffic": STAGE_TRAFFIC_COLUMNS}
_WRITE = pacsv.WriteOptions(include_header=False)
STAGE_WORK_MEM = "64MB"


def lock_store(store: Store) -> None:
    """Serialise loads into one store until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_STORE, store.pk])


def try_claim_upload(upload_id: int) -> bool:
    """A session lock held while a worker runs the upload; it dies with the
    worker's connection, so a killed worker's upload can be claimed again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_UPLOAD, upload_id])
        return bool(cursor.fetchone()[0])


def release_upload(upload_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_UPLOAD, upload_id])


def upload_claimed_elsewhere(upload_id: int) -> bool:
    """Whether some session holds the upload's claim (used by the sweeper)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND granted",
            [LOCK_UPLOAD, upload_id],
        )
        return bool(cursor.fetchone()[0])


def _utc_as_naive(table: pa.Table) -> pa.Table:
    """UTC times as plain timestamps: arrow writes zoned ones twenty times
    slower. The staging columns are ``timestamp`` holding UTC."""
    for i, column_type in enumerate(table.schema.types):
        if pa.types.is_timestamp(column_type) and column_type.tz is not None:
            raw = table.column(i).cast(pa.int64()).cast(pa.timestamp(column_type.unit))
            table = table.set_column(i, table.schema.names[i], raw)
    return table


class PostgresStager:
    def __init__(self) -> None:
        self.kinds: set[str] = set()

    def stage(self, kind: str, frame: pd.DataFrame) -> None:
        with connection.cursor() as cursor:
            if kind not in self.kinds:
                cursor.execute(_STAGE_DDL[kind])
                cursor.execute(f"TRUNCATE ingest_stage_{kind}")  # noqa: S608 - kind is ours
                self.kinds.add(kind)
            table = _utc_as_naive(
                pa.Table.from_pandas(frame[list(_STAGE_COLUMNS[kind])], preserve_index=False)
            )
            buffer = io.BytesIO()
            pacsv.write_csv(table, buffer, _WRITE)
            buffer.seek(0)
            # copy_expert is psycopg2's own: wrap it so a lost server raises
            # Django's OperationalError, which the task retries.
            with connection.wrap_database_errors:
                cursor.copy_expert(
                    f"COPY ingest_stage_{kind} ({', '.join(_STAGE_COLUMNS[kind])}) FROM STDIN WITH (FORMAT csv)",
                    buffer,
                )

    def close(self) -> None:
        if connection.connection is None or not self.kinds or not connection.is_usable():
            # A lost connection took its temporary tables with it.
            self.kinds.clear()
            return
        with connection.cursor() as cursor:
            for kind in self.kinds:
                cursor.execute(f"DROP TABLE IF EXISTS ingest_stage_{kind}")
        self.kinds.clear()


def _local_date(moment: datetime | None, tz: str) -> object:
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).date() if moment else None


def apply(*, stager: PostgresStager, store: Store, upload: Upload) -> LoadCounts:
    """Upsert the staged rows. Call inside transaction.atomic() after lock_store()."""
    counts = LoadCounts()
    with connection.cursor() as cursor:
        if "orders" in stager.kinds:
            _apply_orders(cursor, store, upload, counts)
        if "traffic" in stager.kinds:
            _apply_traffic(cursor, store, upload, counts)
    return counts


def _apply_orders(cursor, store: Store, upload: Upload, counts: LoadCounts) -> None:  # type: ignore[no-untyped-def]
    customer_t = Customer._meta.db_table
    order_t = Order._meta.db_table
    line_t = OrderLine._meta.db_table
    params: dict[str, object] = {"store": store.pk, "upload": upload.pk}
    # The per-order aggregate and the line numbering sort and hash a million
    # rows: with the default 4MB they spill to disk and take twice as long.
    cursor.execute(f"SET LOCAL work_mem = '{STAGE_WORK_MEM}'")
    cursor.execute("ANALYZE ingest_stage_orders")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [order_t])
    params["ids"] = cursor.fetchone()[0]
    # Which orders exist already is found once, here; the store lock keeps it
    # true until commit, so the new ones are plain inserts (no ON CONFLICT),
    # with their ids drawn now so the lines can be joined to them.
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE ingest_orders ON COMMIT DROP AS
        SELECT s.*, o.id IS NULL AS is_new,
               coalesce(o.id, nextval(%(ids)s)) AS id,
               o.placed_at AS old_placed_at
        FROM (
            SELECT order_id,
                   min(placed_at) AT TIME ZONE 'UTC' AS placed_at,
                   max(paid_at) AT TIME ZONE 'UTC' AS paid_at,
                   max(customer_id) AS customer_id,
                   (ARRAY['closed', 'unpaid', 'refunded', 'paid'])[
                       max(CASE status WHEN 'paid' THEN 4 WHEN 'refunded' THEN 3
                                       WHEN 'unpaid' THEN 2 ELSE 1 END)] AS status,
                   coalesce(max(amount), sum(line_amount), sum(quantity * unit_price), 0)::numeric(16, 2)
                       AS amount,
                   coalesce(max(refunded_amount), sum(line_refund), 0)::numeric(16, 2)
                       AS refunded_amount,
                   coalesce(max(items), sum(quantity), 0)::integer AS items,
                   coalesce(max(channel), 'other') AS channel,
                   bool_or(inquired) AS inquired,
                   bool_or(quantity IS NOT NULL) AS has_lines,
                   count(*) AS rows
            FROM ingest_stage_orders GROUP BY order_id
        ) s
        LEFT JOIN {order_t} o ON o.store_id = %(store)s AND o.external_id = s.order_id
        """,
        params,
    )
    cursor.execute("ANALYZE ingest_orders")
    cursor.execute(
        "SELECT sum(rows), min(placed_at), min(old_placed_at), count(*) FILTER (WHERE NOT is_new) "
        "FROM ingest_orders"
    )
    rows, new_min, old_min, existing = cursor.fetchone()
    counts.rows_loaded = int(rows or 0)
    cursor.execute(
        f"""
        INSERT INTO {customer_t} (store_id, external_id, paid_orders, paid_amount)
        SELECT DISTINCT %(store)s, customer_id, 0, 0 FROM ingest_orders
        WHERE customer_id IS NOT NULL
        ON CONFLICT (store_id, external_id) DO NOTHING
        """,
        params,
    )
    counts.customers_created = cursor.rowcount
    cursor.execute(
        f"""
        UPDATE {order_t} o SET
            customer_id = c.id, placed_at = s.placed_at, paid_at = s.paid_at,
            status = s.status, amount = s.amount, refunded_amount = s.refunded_amount,
            items = s.items, channel = s.channel, inquired = s.inquired,
            upload_id = %(upload)s, updated_at = now()
        FROM ingest_orders s
        LEFT JOIN {customer_t} c ON c.store_id = %(store)s AND c.external_id = s.customer_id
        WHERE o.id = s.id AND NOT s.is_new
          AND (o.customer_id, o.placed_at, o.paid_at, o.status, o.amount, o.refunded_amount,
               o.items, o.channel, o.inquired)
            IS DISTINCT FROM
              (c.id, s.placed_at, s.paid_at, s.status, s.amount, s.refunded_amount, s.items,
               s.channel, s.inquired)
        """,
        params,
    )
    counts.orders_updated = cursor.rowcount
    counts.orders_unchanged = existing - counts.orders_updated
    cursor.execute(
        f"""
        INSERT INTO {order_t} (id, store_id, external_id, customer_id, placed_at, paid_at, status,
            amount, refunded_amount, items, channel, inquired, upload_id, updated_at)
        SELECT s.id, %(store)s, s.order_id, c.id, s.placed_at, s.paid_at, s.status, s.amount,
               s.refunded_amount, s.items, s.channel, s.inquired, %(upload)s, now()
        FROM ingest_orders s
        LEFT JOIN {customer_t} c ON c.store_id = %(store)s AND c.external_id = s.customer_id
        WHERE s.is_new
        """,
        params,
    )
    counts.orders_created = cursor.rowcount
    if existing:
        # An overlapping export replaces the lines of the orders it lists.
        cursor.execute(
            f"""
            DELETE FROM {line_t} l USING ingest_orders s
            WHERE l.order_id = s.id AND NOT s.is_new AND s.has_lines
            """
        )
    # Lines in order id order: the line indexes then grow at their right edge.
    cursor.execute(
        f"""
        INSERT INTO {line_t} (order_id, line_no, sku, title, quantity, unit_price, amount)
        SELECT o.id,
               row_number() OVER (PARTITION BY o.id ORDER BY s.row_no),
               coalesce(s.sku, ''), coalesce(s.title, ''), s.quantity,
               coalesce(s.unit_price, 0),
               coalesce(s.line_amount, s.quantity * s.unit_price, 0)
        FROM ingest_stage_orders s
        JOIN ingest_orders o ON o.order_id = s.order_id
        WHERE s.quantity IS NOT NULL
        """
    )
    earliest = min(m for m in (old_min, new_min) if m is not None) if (old_min or new_min) else None
    counts.since = _local_date(earliest, store.timezone)  # type: ignore[assignment]
    cursor.execute("DROP TABLE ingest_orders")
    cursor.execute("SET LOCAL work_mem TO DEFAULT")


def _apply_traffic(cursor, store: Store, upload: Upload, counts: LoadCounts) -> None:  # type: ignore[no-untyped-def]
    traffic_t = TrafficDaily._meta.db_table
    cursor.execute(
        f"""
        WITH agg AS (
            SELECT date, channel, sum(visitors) AS visitors, sum(page_views) AS page_views,
                   sum(inquirers) AS inquirers, sum(inquiry_placers) AS inquiry_placers,
                   count(*) AS rows
            FROM ingest_stage_traffic GROUP BY date, channel
        ), up AS (
            INSERT INTO {traffic_t} AS t (store_id, date, channel, visitors, page_views,
                                          inquirers, inquiry_placers, upload_id)
            SELECT %(store)s, date, channel, visitors, page_views, inquirers, inquiry_placers,
                   %(upload)s
            FROM agg
            ON CONFLICT (store_id, date, channel) DO UPDATE SET
                visitors = EXCLUDED.visitors, page_views = EXCLUDED.page_views,
                inquirers = EXCLUDED.inquirers, inquiry_placers = EXCLUDED.inquiry_placers,
                upload_id = EXCLUDED.upload_id
            RETURNING (xmax = 0) AS inserted, date
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), min(date),
               (SELECT sum(rows) FROM agg)
        FROM up
        """,
        {"store": store.pk, "upload": upload.pk},
    )
    created, updated, since, rows = cursor.fetchone()
    counts.traffic_created, counts.traffic_updated = created, updated
    counts.rows_loaded += int(rows or 0)
    if since is not None and (counts.since is None or since < counts.since):
        counts.since = since
