"""A store's first import goes straight into the real tables (load_direct):
it must write exactly what the staged loaders write, fall back to them for a
file that lists an order apart, and still leave a refused file's database as
it was."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from stores.ingest import load_direct, load_postgres
from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import (
    Customer,
    CustomerBaseDaily,
    CustomerDaily,
    Order,
    SalesDaily,
    Store,
    Upload,
    UploadStatus,
)
from stores.rollups import rollups_refresh
from stores.rollups.spill import SpilledOrders
from stores.upload_loading import _Progress
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import load, table_fingerprint, upload_bytes, upload_file
from tests.stores.ingest.test_conventions import eu_file
from tests.stores.ingest.test_stage_postgres import orders_file, orm_load, snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def direct_load(store: Store, path: Path, block_bytes: int) -> load_direct.DirectStager:
    upload = upload_file(store, path)
    report = ReportWriter(Path(upload.file.storage.path(f"reports/direct-{upload.pk}.csv")))
    with transaction.atomic():
        load_postgres.lock_store(store)
        stager = load_direct.DirectStager(store=store, upload=upload)
        try:
            read_and_stage(path=path, tz=store.timezone, kind="orders", stager=stager, report=report,
                           block_bytes=block_bytes)
            counts = load_postgres.apply(stager=stager, store=store, upload=upload)
            if counts.since is not None:  # as upload_loading does: the customers are written meanwhile
                rollups_refresh(store=store, spilled=stager.spilled, before_write=stager.wait, lifetimes=False)
        except BaseException:
            stager.abandon()
            raise
        finally:
            report.close()
        stager.close()
    return stager


def lifetimes(store: Store) -> list[tuple]:
    return sorted(Customer.objects.filter(store=store).values_list(
        "external_id", "first_paid_at", "last_paid_at", "paid_orders", "paid_amount"))


def rollups(store: Store) -> list[list[tuple]]:
    return [
        sorted(model.objects.filter(store=store).values_list(*fields))
        for model, fields in (
            (SalesDaily, ("date", "channel", "orders_placed", "orders_paid", "sales", "refunds", "units")),
            (CustomerDaily, ("date", "grain", "segment", "placers", "buyers", "orders_paid", "sales")),
            (CustomerBaseDaily, ("date", "customers", "nurtured", "active", "lapsed", "lapses")),
        )
    ]


@pytest.mark.parametrize("block_bytes", [2048, 1 << 20], ids=["many chunks", "one chunk"])
def test_a_first_import_writes_what_the_orm_loader_writes(tmp_path, block_bytes):
    path = orders_file(tmp_path / "orders.csv", scatter=False)
    direct, by_orm = StoreFactory(), StoreFactory()
    stager = direct_load(direct, path, block_bytes)
    orm_load(by_orm, path)
    orders, lines = snapshot(direct)
    assert (orders, lines) == snapshot(by_orm)
    assert len(orders) == 400
    assert lifetimes(direct) == lifetimes(by_orm)
    assert any(paid_orders > 1 for *_, paid_orders, _amount in lifetimes(direct))
    counts = stager.counts
    assert counts.orders_created == 400 and counts.customers_created == 37
    assert counts.rows_loaded == sum(1 for _ in path.open()) - 1
    assert counts.since is not None and counts.since.isoformat() == "2025-03-01"


def test_customers_written_in_slices_are_all_there(tmp_path, monkeypatch):
    monkeypatch.setattr(load_direct, "CUSTOMER_SLICE", 5)  # 37 customers: eight slices
    path = orders_file(tmp_path / "orders.csv", scatter=False)
    direct, by_orm = StoreFactory(), StoreFactory()
    direct_load(direct, path, 1 << 20)
    orm_load(by_orm, path)
    assert lifetimes(direct) == lifetimes(by_orm)
    assert len(lifetimes(direct)) == 37


def test_a_first_import_rounds_money_as_the_database_does(tmp_path):
    """Half a cent rounds away from zero, as numeric(16, 2) rounds it."""
    path = tmp_path / "cents.csv"
    path.write_text(
        "order_id,customer_id,placed_at,status,amount,sku,quantity,unit_price\n"
        "A1,c1,2025-03-01 10:00,paid,10.005,S,1,2.675\n"
        "A2,c1,2025-03-02 10:00,paid,,S,3,0.125\n"
    )
    direct, by_orm = StoreFactory(), StoreFactory()
    direct_load(direct, path, 1 << 20)
    orm_load(by_orm, path)
    assert snapshot(direct) == snapshot(by_orm)
    assert Order.objects.get(store=direct, external_id="A1").amount == Decimal("10.01")
    assert lifetimes(direct) == lifetimes(by_orm)


def test_an_order_listed_again_in_a_later_chunk_stops_the_direct_path(tmp_path):
    path = orders_file(tmp_path / "orders.csv", scatter=True)
    store = StoreFactory()
    before = table_fingerprint()
    with pytest.raises(load_direct.OrdersScattered):
        direct_load(store, path, 2048)
    assert table_fingerprint() == before


def test_a_scattered_first_import_is_loaded_through_staging(tmp_path, settings, caplog):
    settings.INGEST_BLOCK_BYTES = 2048
    path = orders_file(tmp_path / "orders.csv", scatter=True)
    store, by_orm = StoreFactory(), StoreFactory()
    upload = load(store, path)
    assert upload.status == UploadStatus.LOADED, upload.error
    assert "loaded through staging" in caplog.text
    orm_load(by_orm, path)
    assert snapshot(store) == snapshot(by_orm)
    assert lifetimes(store) == lifetimes(by_orm)
    assert upload.orders_created == 400


def test_the_rollups_of_a_first_import_are_those_of_a_full_refresh(tmp_path):
    store = StoreFactory()
    upload = load(store, orders_file(tmp_path / "orders.csv", scatter=False))
    assert upload.status == UploadStatus.LOADED
    after_load = rollups(store)
    assert all(after_load)
    rollups_refresh(store=store)
    assert rollups(store) == after_load


def test_a_first_import_read_again_for_its_conventions_counts_each_row_once(tmp_path, settings):
    """Read month-first, then shown day-first: the rows written before the
    second pass are undone (a savepoint), not written twice."""
    settings.INGEST_BLOCK_BYTES = 1024
    store = StoreFactory(timezone="Europe/Berlin", currency="EUR")
    upload = load(store, eu_file(tmp_path / "eu.csv"))
    assert upload.status == UploadStatus.LOADED, upload.error
    orders = Order.objects.filter(store=store)
    assert orders.count() == 600 == upload.orders_created
    assert Customer.objects.filter(store=store).count() == 300 == upload.customers_created
    first = orders.get(external_id="E0")
    assert first.amount == Decimal("1000.00")
    assert first.placed_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date().isoformat() == "2025-10-01"


def test_a_refused_first_import_leaves_the_database_as_it_was():
    store = StoreFactory()
    before = table_fingerprint()
    rows = "\n".join(f"X{i},c{i},2025-03-0{1 + i % 5} 10:00,paid,{'oops' if i % 4 == 0 else 10}" for i in range(40))
    upload = upload_bytes(store, ("order_id,customer_id,placed_at,status,amount\n" + rows + "\n").encode(),
                          name="bad.csv")
    upload = load(store, upload.file.path)
    assert upload.status == UploadStatus.REJECTED and upload.error_code == "too_many_bad_rows"
    assert table_fingerprint() == before


def test_the_second_upload_into_a_store_is_merged_not_copied_again(tmp_path, store):
    path = orders_file(tmp_path / "orders.csv", scatter=False)
    first = load(store, path)
    more = tmp_path / "more.csv"
    more.write_text(path.read_text() + "O400,C1,2025-03-29 10:00:00,,unpaid,12.00,1,S0,1,12.00,,\n")
    again = load(store, more)
    assert first.status == again.status == UploadStatus.LOADED
    assert first.orders_created == 400 and first.customers_created == 37
    assert (again.orders_created, again.orders_updated, again.orders_unchanged) == (1, 0, 400)
    assert again.customers_created == 0
    assert Order.objects.filter(store=store).count() == 401


@pytest.mark.django_db(transaction=True)
def test_progress_is_seen_by_others_while_the_load_holds_its_transaction():
    store = StoreFactory()
    upload = upload_bytes(store, b"order_id,placed_at,status,amount\n1,2025-03-01,paid,1\n", name="o.csv")
    progress = _Progress(upload.pk, side_connection=True)
    progress.EVERY = 0  # every call writes
    try:
        with transaction.atomic():
            # The load's own connection has written in its transaction:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_xact_id()")
            progress(5, 10)
            # ... and a row lock held elsewhere is skipped, not waited for.
            Upload.objects.select_for_update().get(pk=upload.pk)
            progress(7, 10)
        upload.refresh_from_db()
        assert (upload.rows_done, upload.rows_total) == (5, 10)
    finally:
        progress.close()


@pytest.mark.parametrize("part_orders", [40, 10_000], ids=["many parts", "one part"])
def test_rollups_from_the_orders_a_first_import_kept_are_those_read_back(tmp_path, part_orders):
    """The refresh after a first import reads the orders the load kept on
    disk (rollups.spill), in parts of customers: the same as from the database."""
    path = orders_file(tmp_path / "orders.csv", scatter=False)
    store = StoreFactory()
    with transaction.atomic():
        load_postgres.lock_store(store)
        upload = upload_file(store, path)
        stager = load_direct.DirectStager(store=store, upload=upload)
        report = ReportWriter(tmp_path / "report.csv")
        read_and_stage(path=path, tz=store.timezone, kind="orders", stager=stager, report=report,
                       block_bytes=2048)
        report.close()
        load_postgres.apply(stager=stager, store=store, upload=upload)
        assert stager.spilled.count == 400
        spill = stager.spilled.path
        assert spill is not None
        rollups_refresh(store=store, spilled=stager.spilled, part_orders=part_orders,
                        before_write=stager.wait, lifetimes=False)
        stager.close()
    assert not spill.exists() and not list(spill.parent.glob(f"{spill.stem}*"))  # nor its parts
    from_spill = rollups(store)
    assert all(from_spill)
    rollups_refresh(store=store, part_orders=part_orders)
    assert rollups(store) == from_spill


def test_a_spill_left_by_a_killed_worker_is_deleted_by_the_retry(tmp_path):
    left = SpilledOrders(owner="upload7", directory=tmp_path)  # the killed attempt's, never closed
    other = SpilledOrders(owner="upload8", directory=tmp_path)
    assert left.path is not None and left.path.exists()
    retry = SpilledOrders(owner="upload7", directory=tmp_path)
    assert not left.path.exists()
    assert other.path is not None and other.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other.path.name, retry.path.name])
    for spill in (other, retry):
        spill.close()
    assert list(tmp_path.iterdir()) == []


def test_keys_drawn_in_several_runs_are_each_one_the_sequence_gave():
    """Another load drawing from the same sequence meanwhile splits a block
    into runs; a sequence stepping by 3 makes every key a run of its own.
    Such blocks are left as gaps and drawn again, then taken as runs."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY SEQUENCE test_keys INCREMENT BY 3")
    keys = load_direct._Ids(Order._meta.db_table)
    keys._sequence = "test_keys"
    first = keys.take(5).tolist()
    then = keys.take(2).tolist()  # from the block drawn for the first five
    drawn = first + then
    assert all(key % 3 == 1 for key in drawn)  # each one a value the sequence gave
    assert drawn == list(range(drawn[0], drawn[0] + 3 * 7, 3))  # one block, in order
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM test_keys")
        (last,) = cursor.fetchone()
    assert last > drawn[-1]  # the rest of the block stays in the pool


def test_keys_drawn_alone_are_one_contiguous_block():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY SEQUENCE test_block")
    keys = load_direct._Ids(Order._meta.db_table)
    keys._sequence = "test_block"
    assert keys.take(3).tolist() == [1, 2, 3]
    assert keys.take(4).tolist() == [4, 5, 6, 7]
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM test_block")
        (last,) = cursor.fetchone()
    assert last == 12  # one block of four times the first take, no key lost


@pytest.mark.parametrize("where", ["beside", "far"])
def test_repeated_lines_of_a_first_import_are_rejected_wherever_they_are(tmp_path, settings, caplog, where):
    """The first import looks for a repeated line only among its open order's
    rows and its chunk's: a repeat further on is of an order written already,
    which its unique key catches, and the file is then read the staged way.
    Either way each repeat is rejected, naming its first row, and counted once."""
    settings.INGEST_BLOCK_BYTES = 2048  # dozens of chunks, some of them opening on a repeat
    settings.INGEST_MAX_BAD_SHARE = 0.5
    clean = orders_file(tmp_path / "clean.csv", scatter=False)
    header, *lines = clean.read_text().splitlines()
    repeats: dict[int, int] = {}  # row of the repeat -> row it repeats (the header is row 1)
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        if where == "beside" and i % 3 == 1:
            repeats[len(out) + 2] = len(out) + 1
            out.append(line)
    if where == "far":
        for i in (0, 1, 2):
            out.append(lines[i])
            repeats[len(out) + 1] = i + 2
    path = tmp_path / "repeated.csv"
    path.write_text(header + "\n" + "\n".join(out) + "\n")
    store, by_orm = StoreFactory(), StoreFactory()
    upload = load(store, path)
    assert upload.status == UploadStatus.LOADED, upload.error
    assert ("loaded through staging" in caplog.text) == (where == "far")
    assert upload.rows_rejected == len(repeats) and upload.rows_loaded == len(lines)
    orm_load(by_orm, clean)
    assert snapshot(store) == snapshot(by_orm)
    assert lifetimes(store) == lifetimes(by_orm)
    report = upload.error_report.read().decode("utf-8-sig").splitlines()[1:]
    assert [line.split(",")[:3] for line in report] == [
        [str(row), "", f"exact duplicate of row {first}"] for row, first in sorted(repeats.items())
    ]
