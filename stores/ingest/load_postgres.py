"""PostgreSQL: from the staging tables (``stage_postgres``) one set-based
write per real table, under a per-store advisory lock.

Staging happens outside the load transaction (the temporary tables belong to
this session only), so parsing runs in parallel for many uploads; only the
upsert, the rollup refresh and the Upload status change are serialised per
store, and they commit together or not at all.
"""

# ruff: noqa: S608 - the only names formatted into SQL are our own tables' names.
from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.db import connection

from stores.ingest.load_direct import DirectStager
from stores.ingest.results import LoadCounts
from stores.ingest.stage_postgres import STATUS_RANK, PostgresStager
from stores.models import Customer, Order, OrderLine, Store, TrafficDaily, Upload
from stores.rollups.delta import delta_begin
from stores.rollups.refresh import lifetime_aggregates, update_customer_lifetimes

# Namespaces of our advisory locks (the first int of the two-int form).
LOCK_STORE = 7270001
LOCK_UPLOAD = 7270002

STAGE_WORK_MEM = "256MB"


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


def _local_date(moment: datetime | None, tz: str) -> object:
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).date() if moment else None


def apply(*, stager: PostgresStager, store: Store, upload: Upload) -> LoadCounts:
    """Upsert the staged rows. Call inside transaction.atomic() after lock_store()."""
    counts = LoadCounts()
    with connection.cursor() as cursor:
        if isinstance(stager, DirectStager):
            # The orders are in the real tables already; the customers are
            # being written on the stager's thread (DirectStager.complete).
            counts = stager.complete()
            counts.since = _local_date(stager.earliest, store.timezone)  # type: ignore[assignment]
        elif "orders" in stager.kinds:
            _apply_orders(cursor, stager, store, upload, counts)
        if "traffic" in stager.kinds:
            stager.finish()
            _apply_traffic(cursor, store, upload, counts)
    return counts


# The partial rows of orders whose lines the file scattered, added up.
_ORDERS_ADDED_UP = """(
    SELECT order_id, max(customer_id) AS customer_id, min(placed_at) AS placed_at,
           max(paid_at) AS paid_at, max(status_rank) AS status_rank, max(amount) AS amount,
           max(refunded_amount) AS refunded_amount, sum(line_amount) AS line_amount,
           sum(line_value) AS line_value, sum(line_refund) AS line_refund, max(items) AS items,
           sum(quantity) AS quantity, max(channel) AS channel, bool_or(inquired) AS inquired,
           sum(lines) AS lines, sum(rows) AS rows
    FROM ingest_stage_orders GROUP BY order_id
)"""


def _apply_orders(cursor, stager: PostgresStager, store: Store, upload: Upload, counts: LoadCounts) -> None:  # type: ignore[no-untyped-def]
    customer_t = Customer._meta.db_table
    order_t = Order._meta.db_table
    line_t = OrderLine._meta.db_table
    params: dict[str, object] = {"store": store.pk, "upload": upload.pk}
    # The per-order aggregate, the joins and the sorts into key order handle a
    # million rows: with the default 4MB they spill to disk and take twice as
    # long, and at 64MB the sorts of orders and lines still did.
    cursor.execute(f"SET LOCAL work_mem = '{STAGE_WORK_MEM}'")
    stager.finish()
    cursor.execute("ANALYZE ingest_stage_orders")
    cursor.execute(
        "SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')",
        [order_t, customer_t],
    )
    params["ids"], params["customer_ids"] = cursor.fetchone()
    # One row per order when the file listed each order's lines together
    # (exports do); otherwise the chunks' partial rows are added up here.
    source = "ingest_stage_orders" if stager.orders_unique else _ORDERS_ADDED_UP
    statuses = ", ".join(f"'{status}'" for status in STATUS_RANK)
    # Which orders exist already is found once, here; the store lock keeps it
    # true until commit, so the new ones are plain inserts (no ON CONFLICT),
    # with their ids drawn now so the lines can be joined to them. The ids are
    # drawn in the order the orders were placed (PostgreSQL evaluates nextval
    # after the sort) and the rows written in that order: the primary key and
    # the (store, placed_at) index then grow at their right edge instead of
    # splitting pages all over, a third faster.
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE ingest_orders ON COMMIT DROP AS
        SELECT s.order_id, s.placed_at AT TIME ZONE 'UTC' AS placed_at,
               s.paid_at AT TIME ZONE 'UTC' AS paid_at, s.customer_id,
               (ARRAY[{statuses}])[s.status_rank] AS status,
               coalesce(s.amount, s.line_amount, s.line_value, 0)::numeric(16, 2) AS amount,
               coalesce(s.refunded_amount, s.line_refund, 0)::numeric(16, 2) AS refunded_amount,
               coalesce(s.items, s.quantity, 0)::integer AS items,
               coalesce(s.channel, 'other') AS channel, s.inquired,
               s.lines > 0 AS has_lines, s.rows,
               o.id IS NULL AS is_new,
               coalesce(o.id, nextval(%(ids)s)) AS id,
               o.placed_at AS old_placed_at, o.customer_id AS old_customer_id
        FROM {source} s
        LEFT JOIN {order_t} o ON o.store_id = %(store)s AND o.external_id = s.order_id
        ORDER BY s.placed_at, s.order_id
        """,
        params,
    )
    cursor.execute("ANALYZE ingest_orders")
    cursor.execute(
        "SELECT sum(rows), min(placed_at), min(old_placed_at), count(*) FILTER (WHERE NOT is_new), "
        "min(id) FILTER (WHERE NOT is_new), max(id) FILTER (WHERE NOT is_new) FROM ingest_orders"
    )
    rows, new_min, old_min, existing, params["low"], params["high"] = cursor.fetchone()
    counts.rows_loaded = int(rows or 0)
    # The file's customers, with their ids: those the store has, and new ones
    # drawn in key order (the primary key and the unique index then both
    # grow at their right edge). The orders below find their customer in
    # this table by a hash join, not by a probe of the unique index each.
    # A new customer's orders are all in this file, so their lifetime columns
    # are known now and written with them.
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE ingest_customers ON COMMIT DROP AS
        SELECT a.customer_id AS external_id, c.id AS existing_id,
               coalesce(c.id, nextval(%(customer_ids)s)) AS id,
               a.first_paid, a.last_paid, a.paid_orders, a.paid_amount
        FROM (
            SELECT s.customer_id, {lifetime_aggregates("s")}
            FROM ingest_orders s WHERE s.customer_id IS NOT NULL GROUP BY s.customer_id
        ) a
        LEFT JOIN {customer_t} c ON c.store_id = %(store)s AND c.external_id = a.customer_id
        ORDER BY a.customer_id
        """,
        params,
    )
    cursor.execute("ANALYZE ingest_customers")
    earliest = min(m for m in (old_min, new_min) if m is not None) if (old_min or new_min) else None
    counts.since = _local_date(earliest, store.timezone)  # type: ignore[assignment]
    if counts.since is not None:
        # The touched customers' share of the rollups, before the writes below.
        counts.rollup_delta = delta_begin(
            store=store, since=counts.since,
            customers_sql="SELECT id AS customer_id FROM ingest_customers "
                          "UNION SELECT old_customer_id FROM ingest_orders",
            guest_orders_sql="SELECT id FROM ingest_orders "
                             "WHERE customer_id IS NULL OR (NOT is_new AND old_customer_id IS NULL)",
        )
    # The store lock keeps "not there yet" true until commit: plain inserts.
    cursor.execute(
        f"""
        INSERT INTO {customer_t} (id, store_id, external_id, first_paid_at, last_paid_at,
                                  paid_orders, paid_amount)
        SELECT id, %(store)s, external_id, first_paid, last_paid, paid_orders, paid_amount
        FROM ingest_customers WHERE existing_id IS NULL
        ORDER BY id
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
        LEFT JOIN ingest_customers c ON c.external_id = s.customer_id
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
        LEFT JOIN ingest_customers c ON c.external_id = s.customer_id
        WHERE s.is_new
        ORDER BY s.id
        """,
        params,
    )
    counts.orders_created = cursor.rowcount
    # The customers who were here before and whose orders this file added to,
    # changed or took away: their lifetime columns are computed again over
    # all their orders. The new ones were written right above.
    update_customer_lifetimes(
        store,
        "SELECT existing_id AS customer_id FROM ingest_customers WHERE existing_id IS NOT NULL "
        "UNION SELECT old_customer_id FROM ingest_orders WHERE old_customer_id IS NOT NULL",
    )
    line_no = "l.line_no" if stager.orders_unique else (
        "row_number() OVER (PARTITION BY o.id ORDER BY l.row_no)")
    staged_lines = f"""
        SELECT o.id AS order_id, {line_no} AS line_no, coalesce(l.sku, '') AS sku,
               coalesce(l.title, '') AS title, l.quantity,
               coalesce(l.unit_price, 0)::numeric(16, 2) AS unit_price,
               coalesce(l.amount, 0)::numeric(16, 2) AS amount, o.is_new
        FROM ingest_stage_lines l JOIN ingest_orders o ON o.order_id = l.order_id"""
    wanted = "TRUE"
    if existing:
        # An overlapping export replaces the lines of the orders it lists, but
        # only where they changed: a re-export mostly lists the same lines.
        # Lines have a block-range index on their order (migration 0008): the
        # id range of the orders listed is what it can narrow the reads by.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE ingest_lines_changed ON COMMIT DROP AS
            SELECT DISTINCT coalesce(n.order_id, x.order_id) AS order_id
            FROM ({staged_lines} WHERE NOT o.is_new) n
            FULL JOIN (
                SELECT x.* FROM {line_t} x JOIN ingest_orders o ON o.id = x.order_id
                WHERE NOT o.is_new AND o.has_lines AND x.order_id BETWEEN %(low)s AND %(high)s
            ) x ON x.order_id = n.order_id AND x.line_no = n.line_no
            WHERE (n.sku, n.title, n.quantity, n.unit_price, n.amount)
                  IS DISTINCT FROM (x.sku, x.title, x.quantity, x.unit_price, x.amount)
            """,
            params,
        )
        cursor.execute(
            f"DELETE FROM {line_t} l USING ingest_lines_changed c "
            f"WHERE l.order_id = c.order_id AND l.order_id BETWEEN %(low)s AND %(high)s",
            params,
        )
        wanted = "n.is_new OR n.order_id IN (SELECT order_id FROM ingest_lines_changed)"
    # Lines in (order id, line) order: each block range of the index then
    # holds a narrow run of orders.
    cursor.execute(
        f"""
        INSERT INTO {line_t} (order_id, line_no, sku, title, quantity, unit_price, amount)
        SELECT n.order_id, n.line_no, n.sku, n.title, n.quantity, n.unit_price, n.amount
        FROM ({staged_lines}) n
        WHERE {wanted}
        ORDER BY 1, 2
        """
    )
    counts.lines_written = cursor.rowcount
    cursor.execute("DROP TABLE IF EXISTS ingest_orders, ingest_customers, ingest_lines_changed")
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
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               (SELECT sum(rows) FROM agg)
        FROM up
        """,
        {"store": store.pk, "upload": upload.pk},
    )
    created, updated, rows = cursor.fetchone()
    counts.traffic_created, counts.traffic_updated = created, updated
    counts.rows_loaded += int(rows or 0)
    # The same file loaded before, its names mapped otherwise then: the
    # figures it gave that this reading does not are gone (moved channel).
    cursor.execute(
        f"""
        DELETE FROM {traffic_t} t USING {Upload._meta.db_table} u
        WHERE t.store_id = %(store)s AND t.upload_id = u.id AND u.store_id = %(store)s
          AND u.checksum = %(checksum)s AND u.id <> %(upload)s
          AND t.date IN (SELECT DISTINCT date FROM ingest_stage_traffic)
        """,
        {"store": store.pk, "upload": upload.pk, "checksum": upload.checksum},
    )
    counts.traffic_updated += cursor.rowcount
