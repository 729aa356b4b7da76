"""The COPY path's order staging (one partial row per order and chunk, lines
numbered in Python) against the ORM loader, on files cut into many chunks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from django.db import transaction

from stores.ingest import load_orm, load_postgres
from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import Order, OrderLine, Store
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import FIXTURES, upload_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER = "order_id,customer_id,placed_at,paid_at,status,amount,items,sku,quantity,unit_price,line_amount,inquired"


def orders_file(path: Path, *, scatter: bool, seed: int = 3) -> Path:
    """Orders of 1-4 lines; some without an order total or item count (the
    lines then give them), prices with up to four decimals."""
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(400):
        count = rng.choice([1, 1, 2, 3, 4])
        status = rng.choice(["paid", "paid", "unpaid", "closed", "refunded"])
        placed = f"2025-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
        paid = placed if status in ("paid", "refunded") else ""
        amount = "" if i % 5 == 0 else f"{rng.randint(10, 900)}.{rng.randint(0, 99):02d}"
        items = "" if i % 7 == 0 else str(count)
        inquired = rng.choice(["yes", "no", ""])
        for n in range(count):
            price = f"{rng.randint(1, 300)}.{rng.randint(0, 9999):04d}"
            line_amount = "" if n % 2 else f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"
            lines.append(
                f"O{i},C{i % 37},{placed},{paid},{status},{amount},{items},S{n},{rng.randint(1, 5)},"
                f"{price},{line_amount},{inquired}"
            )
    if scatter:
        rng.shuffle(lines)
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def copy_load(store: Store, path: Path, block_bytes: int) -> load_postgres.PostgresStager:
    upload = upload_file(store, path)
    stager = load_postgres.PostgresStager()
    report = ReportWriter(Path(upload.file.storage.path(f"reports/copy-{upload.pk}.csv")))
    read_and_stage(path=path, tz=store.timezone, kind="orders", stager=stager, report=report,
                   block_bytes=block_bytes)
    report.close()
    stager.finish()
    with transaction.atomic():
        load_postgres.lock_store(store)
        load_postgres.apply(stager=stager, store=store, upload=upload)
    stager.close()
    return stager


def orm_load(store: Store, path: Path) -> None:
    upload = upload_file(store, path)
    stager = load_orm.OrmStager()
    report = ReportWriter(Path(upload.file.storage.path(f"reports/orm-{upload.pk}.csv")))
    read_and_stage(path=path, tz=store.timezone, kind="orders", stager=stager, report=report)
    report.close()
    load_orm.apply(stager=stager, store=store, upload=upload)


def snapshot(store: Store) -> tuple[list, list]:
    orders = sorted(Order.objects.filter(store=store).values_list(
        "external_id", "status", "amount", "refunded_amount", "items", "channel", "inquired",
        "customer__external_id", "placed_at", "paid_at",
    ))
    lines = sorted(OrderLine.objects.filter(order__store=store).values_list(
        "order__external_id", "line_no", "sku", "quantity", "unit_price", "amount",
    ))
    return orders, lines


@pytest.mark.parametrize("scatter", [False, True], ids=["grouped", "scattered"])
@pytest.mark.parametrize("block_bytes", [2048, 1 << 20])
def test_copy_staging_matches_the_orm_loader_however_the_file_is_cut(tmp_path, scatter, block_bytes):
    path = orders_file(tmp_path / "orders.csv", scatter=scatter)
    by_copy, by_orm = StoreFactory(), StoreFactory()
    stager = copy_load(by_copy, path, block_bytes)
    orm_load(by_orm, path)
    # Grouped lines give one partial row per order, even across chunk ends;
    # scattered ones are added up in SQL.
    assert stager.orders_unique is not scatter
    copy_orders, copy_lines = snapshot(by_copy)
    assert (copy_orders, copy_lines) == snapshot(by_orm)
    assert len(copy_orders) == 400
    # Lines are numbered 1..n within each order, in file order.
    numbers: dict[str, list[int]] = {}
    for order_id, line_no, *_ in copy_lines:
        numbers.setdefault(order_id, []).append(line_no)
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())


def test_an_export_loaded_again_in_other_chunks_changes_nothing(tmp_path):
    store = StoreFactory()
    path = FIXTURES / "shopify_orders_export.csv"
    copy_load(store, path, 1 << 20)
    before = snapshot(store)
    copy_load(store, path, 600)
    assert snapshot(store) == before


def line_versions(store: Store) -> dict[tuple[str, int], tuple[str, str]]:
    """(order, line) -> (the row's xmin, sku): a rewritten row gets a new xmin."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.external_id, l.line_no, l.xmin::text, l.sku FROM stores_orderline l "
            "JOIN stores_order o ON o.id = l.order_id WHERE o.store_id = %s",
            [store.pk],
        )
        return {(ext, no): (xmin, sku) for ext, no, xmin, sku in cursor.fetchall()}


def test_an_overlapping_export_rewrites_only_the_lines_that_changed(tmp_path):
    store = StoreFactory()
    path = orders_file(tmp_path / "orders.csv", scatter=False)
    copy_load(store, path, 1 << 20)
    before = line_versions(store)
    # The same export again, one line's sku changed and one order gaining a line.
    text = path.read_text().splitlines()
    changed = next(i for i, line in enumerate(text) if line.startswith("O5,"))
    text[changed] = text[changed].replace(",S0,", ",S9,", 1)
    grown = next(i for i, line in enumerate(text) if line.startswith("O8,"))
    text.insert(grown + 1, text[grown].replace(",S0,", ",S7,", 1))
    again = tmp_path / "again.csv"
    again.write_text("\n".join(text) + "\n")
    upload = upload_file(store, again)
    from stores.upload_loading import upload_process

    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == "loaded", upload.error
    after = line_versions(store)
    rewritten = {key[0] for key in after if after[key][0] != before.get(key, ("", ""))[0]}
    assert rewritten == {"O5", "O8"}
    assert after[("O5", 1)][1] == "S9"
    assert len(after) == len(before) + 1


def test_staged_text_is_shortened_only_where_nothing_is_lost():
    from datetime import UTC, datetime
    from decimal import Decimal

    import pyarrow as pa

    from stores.ingest.stage_postgres import MONEY, csv_bytes

    def written(money: str, moment: datetime) -> str:
        table = pa.table({
            "m": pa.array([Decimal(money)], type=MONEY),
            "t": pa.array([moment], type=pa.timestamp("us", tz="UTC")),
        })
        return csv_bytes(table).decode().strip()

    assert written("49.45", datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "49.45,2025-01-02 03:04:05"
    assert written("49.455", datetime(2025, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)) == (
        "49.45500000,2025-01-02 03:04:05.250000"
    )
