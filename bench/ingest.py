"""How fast and how lean is ingestion, against PostgreSQL's own COPY?

Generates a realistic orders file of N order lines (default 1,000,000) in our
generic CSV, then in the same run times
  (a) ``psql \\copy`` of the file into a bare, unindexed, typed table: the
      physical reference; and
  (b) our whole pipeline, ``manage.py ingest`` in a fresh process, into a
      new store (checksum, detection, chunked read, validation, COPY of the
      orders and lines straight into their tables as a first import does,
      the customers, the rollup refresh) up to the upload being LOADED.
      The command then runs the page-warming task inline (eager
      Celery; in production another worker runs it): its time is printed
      apart and not counted in (b).
(a) and (b) are measured in turn ``--repeat`` times (3 by default): a shared
machine's speed drifts by a fifth from one minute to the next, so one pair
of runs can land anywhere. Each run is printed; then rows/s for each, the
ratio b/a of their medians, and the highest peak RSS of (b) (read as the
warming task starts; the command's own peak is printed too). The last line
is one JSON object: rows, copy_s, pipeline_s (the medians), ratio,
peak_rss_mb.
Before it, (c): the next morning's export (the last two days again, some
unpaid orders now paid, and a new day) loaded into the store (b) filled, the
load users run every day (through staging and the set-based merge), after a
VACUUM ANALYZE (autovacuum's work by then); its time is printed, not part of
the JSON.

The file lists orders in the order they were placed, numbered as they came
in, one to four lines each, as platform exports do.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--repeat 3] [--database-url URL]

Data goes to var/bench (gitignored); the database is kpi_bench by default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
STORE = "bench-ingest"
COLUMNS = "order_id, customer_id, placed_at, paid_at, status, amount, items, channel, sku, quantity, unit_price, inquired"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    # Lines per order: mostly one, some baskets (about 1.45 lines an order).
    sizes = rng.choice([1, 1, 1, 1, 2, 2, 3, 4], size=rows)
    sizes = sizes[np.cumsum(sizes) <= rows]
    if sizes.sum() < rows:
        sizes = np.append(sizes, rows - sizes.sum())
    orders = len(sizes)
    order_of_line = np.repeat(np.arange(orders), sizes)
    customers = max(orders * 70 // 100, 1)
    # About half the buyers buy once, a few many times (Pareto weights: the keenest
    # has some thousands of orders, not a quarter of the store's as a Zipf draw gave).
    weights = rng.pareto(1.5, size=customers) + 1.0
    cust = rng.choice(customers, size=orders, p=weights / weights.sum())
    guest = rng.random(orders) < 0.1
    start = np.datetime64("2024-01-01T00:00:00")
    # As shop platforms export them: orders in the order they were placed,
    # numbered as they came in (Taobao's and JD's ids, Shopify's #1001...).
    placed = start + np.sort(rng.integers(0, 365 * 86400, size=orders)).astype("timedelta64[s]")
    status = rng.choice(["paid", "unpaid", "closed", "refunded"], p=[0.9, 0.05, 0.03, 0.02], size=orders)
    paid = placed + rng.integers(10, 900, size=orders).astype("timedelta64[s]")
    qty = rng.integers(1, 4, size=rows)
    price = np.round(rng.gamma(2.0, 40.0, size=rows), 2)
    line_value = qty * price
    amount = np.bincount(order_of_line, weights=line_value, minlength=orders)
    items = np.bincount(order_of_line, weights=qty, minlength=orders).astype(np.int64)
    channel = rng.choice(["search", "cps", "community", "ads", "activity", "other"], size=orders)
    inquired = rng.choice(["yes", "no", ""], p=[0.2, 0.6, 0.2], size=orders)
    paid_text = np.where(np.isin(status, ["paid", "refunded"]), np.datetime_as_string(paid), "")
    cust_text = np.where(guest, "", np.char.add("C", cust.astype(str)))
    line_idx = order_of_line
    table = pa.table(
        {
            "order_id": (4_100_000_000_000 + order_of_line).astype(str),
            "customer_id": cust_text[line_idx],
            "placed_at": np.char.replace(np.datetime_as_string(placed), "T", " ")[line_idx],
            "paid_at": np.char.replace(paid_text, "T", " ")[line_idx],
            "status": status[line_idx],
            "amount": np.char.mod("%.2f", amount)[line_idx],
            "items": items[line_idx],
            "channel": channel[line_idx],
            "sku": np.char.add("SKU-", rng.integers(0, 4000, size=rows).astype(str)),
            "quantity": qty,
            "unit_price": np.char.mod("%.2f", price),
            "inquired": inquired[line_idx],
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def generate_daily(source: Path, path: Path, seed: int = 11) -> int:
    """The export an analyst uploads the next morning: the last two days of
    ``source`` again, a fifth of their unpaid orders now paid, and one new
    day of orders (as many as the last day had), half by returning
    customers. Returns its number of lines."""
    rng = np.random.default_rng(seed)
    table = pacsv.read_csv(
        source, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(COLUMNS.split(", "), pa.string())),
    )
    placed = np.array(table.column("placed_at").to_pylist(), dtype="datetime64[s]")
    last = placed.max()
    tail = table.filter(pa.array(placed >= last - np.timedelta64(2, "D")))
    status = np.array(tail.column("status").to_pylist(), dtype=object)
    paid_at = np.array(tail.column("paid_at").to_pylist(), dtype=object)
    order_ids = np.array(tail.column("order_id").to_pylist())
    unique_ids = np.unique(order_ids)
    now_paid = np.isin(order_ids, unique_ids[rng.random(len(unique_ids)) < 0.2]) & (status == "unpaid")
    status[now_paid] = "paid"
    paid_at[now_paid] = np.char.replace(np.datetime_as_string(last), "T", " ")
    tail = tail.set_column(tail.schema.get_field_index("status"), "status", pa.array(status.tolist()))
    tail = tail.set_column(tail.schema.get_field_index("paid_at"), "paid_at", pa.array(paid_at.tolist()))
    day = table.filter(pa.array(placed >= last - np.timedelta64(1, "D")))
    shift = lambda column: pa.array(  # noqa: E731 - a one-line helper
        [v if not v else str(np.datetime64(v) + np.timedelta64(1, "D")).replace("T", " ")
         for v in day.column(column).to_pylist()])
    customers = np.array(day.column("customer_id").to_pylist(), dtype=object)
    # Half the orders (all their lines) by new buyers.
    _, order_of_line = np.unique(np.array(day.column("order_id").to_pylist()), return_inverse=True)
    fresh = (rng.random(order_of_line.max() + 1) < 0.5)[order_of_line]
    customers[fresh] = [f"N{c}" if c else c for c in customers[fresh]]
    new_day = (
        day.set_column(0, "order_id", pa.array([str(int(v) + 10_000_000) for v in day.column("order_id").to_pylist()]))
        .set_column(day.schema.get_field_index("customer_id"), "customer_id", pa.array(customers.tolist()))
        .set_column(day.schema.get_field_index("placed_at"), "placed_at", shift("placed_at"))
        .set_column(day.schema.get_field_index("paid_at"), "paid_at", shift("paid_at"))
    )
    daily = pa.concat_tables([tail, new_day])
    pacsv.write_csv(daily, path, pacsv.WriteOptions(quoting_style="needed"))
    return daily.num_rows


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    name = parsed.path.lstrip("/")
    exists = subprocess.run(
        ["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    if not exists:
        psql(admin, f'CREATE DATABASE "{name}"')


def time_copy(url: str, path: Path) -> float:
    psql(url, "DROP TABLE IF EXISTS bench_copy")
    psql(
        url,
        "CREATE TABLE bench_copy (order_id text, customer_id text, placed_at timestamp, "
        "paid_at timestamp, status text, amount numeric, items integer, channel text, sku text, "
        "quantity integer, unit_price numeric, inquired text)",
    )
    started = time.perf_counter()
    psql(url, f"\\copy bench_copy ({COLUMNS}) FROM '{path}' WITH (FORMAT csv, HEADER true, FORCE_NULL (customer_id, paid_at, inquired))")
    elapsed = time.perf_counter() - started
    psql(url, "DROP TABLE bench_copy")
    return elapsed


CHILD = """
import json, logging, re, resource, time, django
django.setup()
from django.core.management import call_command
from stores.models import Store

stages = {}


class Stages(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        found = re.findall(r"(read and staged|upserted|rollups|committed)[^,]*? in ([0-9.]+)s", message)
        stages.update({name: float(seconds) for name, seconds in found})
        warm = re.search(r"store_pages_warm\\[.*?\\] succeeded in ([0-9.]+)s", message)
        if warm:
            stages["pages warmed"] = float(warm.group(1))


for name in ("stores.upload_loading", "celery.app.trace"):
    log = logging.getLogger(name)
    log.addHandler(Stages())
    log.setLevel(logging.INFO)


# VmHWM is this process image's own peak: ru_maxrss would also count the
# parent's memory inherited up to exec.
def peak_kb():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))


# The load's peak is read when the page-warming task starts (it runs inline
# after the upload is LOADED): that task's own peak is reported apart.
load_peak = {}
from celery.signals import task_prerun


@task_prerun.connect
def _before_warm(sender=None, **kwargs):
    if sender is not None and sender.name == "kpitree.store_pages_warm":
        load_peak.setdefault("kb", peak_kb())


if %(create)r:
    Store.objects.create(slug=%(store)r, name="Bench", platform="other", timezone="Asia/Shanghai")
from io import StringIO
out = StringIO()
started = time.perf_counter()
call_command("ingest", %(path)r, "--store", %(store)r, stdout=out)
elapsed = time.perf_counter() - started
print(json.dumps({
    "seconds": elapsed, "peak_kb": load_peak.get("kb", peak_kb()), "command_peak_kb": peak_kb(),
    "stages": stages,
    "result": json.loads(out.getvalue().strip().splitlines()[-1]),
}))
"""


def time_pipeline(url: str, path: Path, *, fresh: bool = True) -> tuple[float, float, dict]:
    """``manage.py ingest`` of ``path`` in a process of its own: into a new
    store, or (``fresh`` False) into the one the last run loaded."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "DEBUG": "false",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "MEDIA_ROOT": str(OUT / "media"),
        "PYTHONPATH": str(ROOT),
    }
    if fresh:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        # A fresh store each run: the bench database is ours alone.
        # Customers, orders and lines hang on no foreign key: name them.
        psql(url, "TRUNCATE stores_store, stores_customer, stores_order, stores_orderline CASCADE")
    code = CHILD % {"store": STORE, "path": str(path), "create": fresh}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"pipeline failed:\n{output}")
    report = json.loads(output.strip().splitlines()[-1])
    return report["seconds"], report["peak_kb"] / 1024, report["result"] | {
        "stages": report["stages"], "command_peak_mb": report["command_peak_kb"] / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kpi_bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--repeat", type=int, default=3,
                        help="times (a) and (b) are measured, in turn; the figures are their medians")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"orders-{args.rows}-v3.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} lines ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f}s")
    ensure_database(args.database_url)

    # (a) and (b) in turn, a few times: a shared machine's speed drifts by a
    # fifth from minute to minute, and one pair of runs can land on either side.
    copies: list[float] = []
    pipelines: list[float] = []
    peaks: list[float] = []
    for run in range(1, max(args.repeat, 1) + 1):
        copy_s = time_copy(args.database_url, path)
        copies.append(copy_s)
        print(f"run {run}: (a) psql \\copy, bare table:   {copy_s:7.2f} s  {args.rows / copy_s:>10,.0f} rows/s")
        command_s, peak_mb, result = time_pipeline(args.database_url, path)
        stages = result.pop("stages")
        command_peak_mb = result.pop("command_peak_mb")
        # The load ends with the upload LOADED; warming the store's pages is the
        # next task (another worker's, in production; inline here, eager Celery).
        warm_s = stages.pop("pages warmed", 0.0)
        pipeline_s = command_s - warm_s
        pipelines.append(pipeline_s)
        peaks.append(peak_mb)
        print(f"run {run}: (b) our pipeline (ingest):    {pipeline_s:7.2f} s  {args.rows / pipeline_s:>10,.0f} rows/s"
              f"   (the command took {command_s:.2f} s with {warm_s:.2f} s of page warming after the load)")
        print(f"    result: {json.dumps(result)}")
        other = pipeline_s - sum(stages.values())
        print("    stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()) + f", other {other:.2f}")
        if result["status"] != "loaded" or result["rows_loaded"] != args.rows:
            raise SystemExit("the pipeline did not load every row")
        print(f"    ratio b/a of this run: {pipeline_s / copy_s:.2f}   peak RSS of (b): {peak_mb:.0f} MB"
              f"   (with the page warming: {command_peak_mb:.0f} MB)")
    copy_s, pipeline_s, peak_mb = statistics.median(copies), statistics.median(pipelines), max(peaks)
    ratio = pipeline_s / copy_s
    print(f"(a) psql \\copy, bare table:   {copy_s:7.2f} s  {args.rows / copy_s:>10,.0f} rows/s"
          f"   (median of {len(copies)}: {', '.join(f'{c:.2f}' for c in copies)})")
    print(f"(b) our pipeline (ingest):    {pipeline_s:7.2f} s  {args.rows / pipeline_s:>10,.0f} rows/s"
          f"   (median of {len(pipelines)}: {', '.join(f'{p:.2f}' for p in pipelines)})")
    print(f"ratio b/a: {ratio:.2f} (medians; each run's: {', '.join(f'{p / c:.2f}' for c, p in zip(copies, pipelines, strict=True))})"
          f"   peak RSS of (b): {peak_mb:.0f} MB (the highest)")
    # What users run every day: the next morning's export into the store just
    # loaded (two days again, some statuses changed, and a new day).
    daily_path = OUT / f"orders-{args.rows}-daily.csv"
    daily_rows = generate_daily(path, daily_path)
    # By the next morning autovacuum has vacuumed and analysed what (b) wrote.
    psql(args.database_url, "VACUUM ANALYZE stores_customer, stores_order, stores_orderline")
    daily_s, daily_peak_mb, daily = time_pipeline(args.database_url, daily_path, fresh=False)
    daily_stages = daily.pop("stages")
    daily_s -= daily_stages.pop("pages warmed", 0.0)
    daily.pop("command_peak_mb")
    print(f"(c) next day's export into that store: {daily_rows:,} lines in {daily_s:.2f} s"
          f" (orders created {daily['orders_created']:,}, updated {daily['orders_updated']:,};"
          f" peak {daily_peak_mb:.0f} MB)")
    print("    stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in daily_stages.items()))
    if daily["status"] != "loaded" or daily["rows_loaded"] != daily_rows:
        raise SystemExit(f"the daily load did not load every row: {daily}")
    daily_path.unlink()
    if not args.keep:
        path.unlink()
    print(json.dumps({"rows": args.rows, "copy_s": round(copy_s, 3), "pipeline_s": round(pipeline_s, 3), "ratio": round(ratio, 3), "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
