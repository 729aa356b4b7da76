"""How fast is the diagnosis API on a realistic database, and RFM on a big store?

Builds (once; reused while a marker row says it matches the arguments) a
PostgreSQL database of S stores and N orders over the three years before
today, generated with numpy and loaded with COPY, then the rollups of every
store. Then, in one process, times server-side (Django test client, warm):
the diagnosis endpoint for a month and for a year over a few hundred
requests each, rotating over stores and periods; a trivial authenticated
endpoint (/api/ping/) in the same run; and ``rfm_table`` for the store of
``--rfm-customers`` customers. The last line is one JSON object.

    .venv/bin/python bench/diagnosis.py [--orders 10000000] [--stores 50]
        [--rfm-customers 1000000] [--requests 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHANNELS = ["search", "cps", "community", "ads", "activity", "other"]


def ensure_database(url: str) -> None:
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    out = subprocess.run(["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                         capture_output=True, text=True, check=True)
    if out.stdout.strip() != "1":
        subprocess.run(["psql", admin, "-c", f'CREATE DATABASE "{name}"'], check=True)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DEBUG"] = "0"  # no query log in the timings
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()


def copy_table(cursor, table: str, columns: list[str], arrays: dict[str, object]) -> None:
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table(arrays), buffer,
                    write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def plan(orders: int, stores: int, rfm_customers: int) -> list[tuple[int, int]]:
    """(orders, customers) per store; store 0 is the big one for RFM."""
    big_orders = min(orders // 3, rfm_customers * 3)
    big_customers = min(rfm_customers, max(big_orders // 3, 1))
    rest = (orders - big_orders) // max(stores - 1, 1)
    return [(big_orders, big_customers)] + [(rest, max(rest // 3, 1))] * (stores - 1)


def build(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from stores.models import Store
    from stores.rollups import rollups_refresh

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_diagnosis_marker (spec text PRIMARY KEY, done boolean)")
        spec = f"orders={args.orders} stores={args.stores} rfm={args.rfm_customers} end={args.end}"
        cur.execute("SELECT done FROM bench_diagnosis_marker WHERE spec = %s", [spec])
        row = cur.fetchone()
        if row and row[0]:
            print(f"reusing the database built for {spec}", flush=True)
            return
        cur.execute("TRUNCATE bench_diagnosis_marker")
        cur.execute("TRUNCATE stores_store, stores_customer, stores_order, stores_trafficdaily, "
                    "stores_salesdaily, stores_customerdaily, stores_customerbasedaily CASCADE")
    rng = np.random.default_rng(11)
    end = date.fromisoformat(args.end)
    start = end - timedelta(days=3 * 365)
    start_epoch = int(np.datetime64(start.isoformat(), "s").astype(np.int64)) - 8 * 3600
    seconds = 3 * 365 * 86400
    stores = [
        Store.objects.create(slug=f"bench-{i:02d}", name=f"Bench {i:02d}", platform="tmall",
                             category="bench", timezone="Asia/Shanghai")
        for i in range(args.stores)
    ]
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stores_order' "
                    "AND indexname NOT LIKE '%%pkey'")
        order_indexes = cur.fetchall()
        for name, _ in order_indexes:
            cur.execute(f'ALTER TABLE stores_order DROP CONSTRAINT IF EXISTS "{name}"')
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
        next_customer, next_order = 1, 1
        for store, (n_orders, n_customers) in zip(stores, plan(args.orders, args.stores, args.rfm_customers), strict=True):
            cust_ids = np.arange(next_customer, next_customer + n_customers)
            copy_table(cur, "stores_customer",
                       ["id", "store_id", "external_id", "paid_orders", "paid_amount"],
                       {"id": cust_ids, "store_id": np.full(n_customers, store.pk),
                        "external_id": np.char.add("C", cust_ids.astype(str)),
                        "paid_orders": np.zeros(n_customers, dtype=np.int64),
                        "paid_amount": np.zeros(n_customers)})
            everyone = rng.permutation(n_customers)
            for lo in range(0, n_orders, 2_000_000):
                n = min(2_000_000, n_orders - lo)
                ids = np.arange(next_order, next_order + n)
                # Skewed: a few customers buy often, most once or twice.
                pick = (n_customers * rng.random(n) ** 1.6).astype(np.int64)
                # Every customer buys at least once, so the store really has n_customers.
                first = np.arange(lo, lo + n) < n_customers
                pick[first] = everyone[lo:lo + n][: first.sum()]
                cust = cust_ids[pick].astype(object)
                cust[rng.random(n) < 0.05] = None
                placed = start_epoch + np.sort(rng.integers(0, seconds, n))
                status = rng.choice(["paid", "unpaid", "closed", "refunded"], p=[0.9, 0.06, 0.02, 0.02], size=n)
                paid = np.isin(status, ["paid", "refunded"])
                amount = np.round(rng.gamma(2.0, 60.0, n) + 5, 2)
                inquired = rng.choice(np.array([True, False, None], dtype=object), p=[0.2, 0.7, 0.1], size=n)
                placed_ts = pa.array(placed, pa.timestamp("s", tz="UTC"))
                paid_ts = pa.array(np.where(paid, placed + 120, 0), pa.timestamp("s", tz="UTC"), mask=~paid)
                copy_table(cur, "stores_order",
                           ["id", "store_id", "external_id", "customer_id", "placed_at", "paid_at",
                            "status", "amount", "refunded_amount", "items", "channel", "inquired",
                            "updated_at"],
                           {"id": ids, "store_id": np.full(n, store.pk),
                            "external_id": np.char.add("O", ids.astype(str)),
                            "customer_id": pa.array(cust, pa.int64()),
                            "placed_at": placed_ts, "paid_at": paid_ts, "status": status,
                            "amount": amount,
                            "refunded_amount": np.where(status == "refunded", np.round(amount / 2, 2), 0.0),
                            "items": rng.integers(1, 5, n), "channel": rng.choice(CHANNELS, n),
                            "inquired": pa.array(inquired, pa.bool_()), "updated_at": placed_ts})
                next_order += n
            next_customer += n_customers
            days = np.arange(3 * 365)
            dates = np.array([start + timedelta(days=int(d)) for d in days])
            per_day = max(n_orders // (3 * 365), 1)
            visitors = rng.poisson(per_day * 40 / 6, size=(len(days), 6)) + 1
            copy_table(cur, "stores_trafficdaily",
                       ["store_id", "date", "channel", "visitors", "page_views", "inquirers", "inquiry_placers"],
                       {"store_id": np.full(visitors.size, store.pk),
                        "date": pa.array(np.repeat(dates, 6), pa.date32()),
                        "channel": np.tile(CHANNELS, len(days)), "visitors": visitors.ravel(),
                        "page_views": visitors.ravel() * 3, "inquirers": visitors.ravel() // 10,
                        "inquiry_placers": visitors.ravel() // 60})
            print(f"loaded {store.slug}: {n_orders} orders, {n_customers} customers "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        cur.execute("SET session_replication_role = origin")
        for table, seq_from in (("stores_customer", next_customer), ("stores_order", next_order)):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {seq_from})")
        for _, definition in order_indexes:
            cur.execute(definition)
        for name, definition in order_indexes:
            if "UNIQUE" in definition:
                cur.execute(f'ALTER TABLE stores_order ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"')
        cur.execute("ANALYZE")
    print(f"orders loaded and indexed in {time.perf_counter() - t0:.0f} s", flush=True)
    for store in stores:
        result = rollups_refresh(store=store, since=None)
        print(f"rollups {store.slug}: {result.seconds} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("INSERT INTO bench_diagnosis_marker VALUES (%s, true)", [spec])
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)


def _times(client, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        t = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
    return out


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def measure(args: argparse.Namespace) -> dict[str, float]:
    from django.contrib.auth.models import User
    from django.test import Client

    from kpitree.customers import rfm_table
    from stores.models import Membership, Store

    stores = list(Store.objects.filter(slug__startswith="bench-").order_by("slug"))
    user, _ = User.objects.get_or_create(username="bench-user")
    for store in stores:
        Membership.objects.get_or_create(user=user, store=store, defaults={"role": "manager"})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    end = date.fromisoformat(args.end)
    months = []
    month_start = end.replace(day=1)
    for _ in range(12):
        month_start = (month_start - timedelta(days=1)).replace(day=1)
        nxt = (month_start + timedelta(days=32)).replace(day=1)
        months.append((month_start, nxt - timedelta(days=1)))
    years = [(date(y, 1, 1), date(y, 12, 31)) for y in (end.year - 1, end.year - 2)]
    n = args.requests

    def urls(periods: list[tuple[date, date]]) -> list[str]:
        return [f"/api/stores/{stores[i % len(stores)].slug}/diagnosis/?start={periods[i % len(periods)][0]}"
                f"&end={periods[i % len(periods)][1]}&base=previous" for i in range(n)]

    month_urls, year_urls = urls(months), urls(years)
    _times(client, month_urls[:20] + year_urls[:20] + ["/api/ping/"] * 20)  # warm up
    ping = _times(client, ["/api/ping/"] * n)
    month = _times(client, month_urls)
    year = _times(client, year_urls)
    big = stores[0]
    # RFM "now" (the day after the last order: what the customers page shows)
    # reads the customers' lifetime columns; as of a past day it groups orders.
    t = time.perf_counter()
    table = rfm_table(store=big, as_of=end + timedelta(days=1))
    rfm_s = time.perf_counter() - t
    t = time.perf_counter()
    past = rfm_table(store=big, as_of=end - timedelta(days=30))
    rfm_past_s = time.perf_counter() - t
    print(f"month: {n} requests over {len(stores)} stores x 12 months; year: {n} over 2 years")
    print(f"rfm_table for {big.slug} as of {end + timedelta(days=1)}: {len(table)} customers in {rfm_s:.2f} s")
    print(f"rfm_table for {big.slug} as of {end - timedelta(days=30)} (grouping orders): "
          f"{len(past)} customers in {rfm_past_s:.2f} s")
    return {
        "month_p50_ms": _pct(month, 50), "month_p95_ms": _pct(month, 95),
        "year_p50_ms": _pct(year, 50), "year_p95_ms": _pct(year, 95),
        "trivial_p95_ms": _pct(ping, 95), "rfm_1m_s": round(rfm_s, 2),
        "rfm_1m_past_s": round(rfm_past_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--rfm-customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--end", default="2026-11-22", help="last day of the generated orders")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kpi_bench_diagnosis"))
    args = parser.parse_args()
    ensure_database(args.database_url)
    setup_django(args.database_url)
    build(args)
    if args.build_only:
        return
    result = measure(args)
    print(f"ran with orders={args.orders} stores={args.stores} rfm_customers={args.rfm_customers}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
