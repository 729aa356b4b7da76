"""Loading into the real tables: exactly once, whole or not at all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from stores.ingest import load_orm
from stores.models import (
    ChannelMapping,
    ColumnMapping,
    Customer,
    Order,
    OrderLine,
    SalesDaily,
    TrafficDaily,
    UploadStatus,
)
from stores.rollups import rollups_refresh
from stores.services import column_mapping_save
from stores.upload_loading import upload_process
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import (
    FIXTURES,
    load,
    selling_in_euros,
    table_fingerprint,
    upload_bytes,
    upload_file,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

GENERIC_HEADER = "order_id,customer_id,placed_at,paid_at,status,amount,items,sku,quantity,unit_price\n"


def generic(rows: list[str]) -> bytes:
    return (GENERIC_HEADER + "\n".join(rows) + "\n").encode()


def test_shopify_export_becomes_orders_customers_and_lines(store):
    selling_in_euros(store)
    upload = load(store, FIXTURES / "shopify_orders_export.csv")
    assert upload.status == UploadStatus.LOADED, upload.error
    assert upload.format == "shopify"
    assert (upload.rows_read, upload.rows_loaded, upload.rows_rejected) == (6, 6, 0)
    assert upload.orders_created == 5
    first = Order.objects.get(store=store, external_id="#1001")
    assert first.amount == Decimal("58.90") and first.items == 3 and first.status == "paid"
    assert first.customer is not None and first.customer.external_id == "ana@example.com"
    assert list(first.lines.order_by("line_no").values_list("sku", "quantity")) == [("OOL-100", 2), ("JAS-050", 1)]
    assert Order.objects.get(store=store, external_id="#1004").customer is None  # guest
    assert Customer.objects.filter(store=store).count() == 3
    # The rollups were refreshed from the earliest local date of the file.
    assert SalesDaily.objects.filter(store=store).exists()


def test_taobao_gbk_report_loads(store):
    upload = load(store, FIXTURES / "ExportOrderList202510.csv")
    assert upload.status == UploadStatus.LOADED, upload.error
    statuses = dict(Order.objects.filter(store=store).values_list("external_id", "status"))
    assert statuses["1760012345678901"] == "paid"
    assert statuses["1760012345678906"] == "refunded"
    assert Order.objects.get(store=store, external_id="1760012345678906").refunded_amount == Decimal("120.00")


def test_tmall_sub_orders_group_into_orders(store):
    upload = load(store, FIXTURES / "tmall_suborders.csv")
    assert upload.status == UploadStatus.LOADED, upload.error
    order = Order.objects.get(store=store, external_id="1002")
    assert order.amount == Decimal("218.00") and order.refunded_amount == Decimal("40.00")
    assert order.status == "paid" and order.items == 3
    assert order.lines.count() == 2
    assert Order.objects.get(store=store, external_id="1003").amount == Decimal("58.00")


def test_same_file_twice_is_reported_not_loaded(store):
    first = load(store, FIXTURES / "generic_orders.csv")
    before = table_fingerprint()
    second = load(store, FIXTURES / "generic_orders.csv")
    assert second.status == UploadStatus.DUPLICATE
    assert second.duplicate_of_id == first.pk
    assert table_fingerprint() == before
    assert Order.objects.filter(store=store).count() == 4


def test_same_file_for_another_store_is_loaded(store, other_store):
    load(store, FIXTURES / "generic_orders.csv")
    again = load(other_store, FIXTURES / "generic_orders.csv")
    assert again.status == UploadStatus.LOADED
    assert Order.objects.filter(store=other_store).count() == 4


def test_overlapping_export_updates_orders_instead_of_adding(store):
    day1 = generic([
        "A,c1,2025-03-01 10:00,,unpaid,100,1,S1,1,100",
        "B,c2,2025-03-01 11:00,2025-03-01 11:01,paid,50,1,S2,1,50",
    ])
    day2 = generic([
        "A,c1,2025-03-01 10:00,2025-03-02 09:00,paid,100,1,S1,1,100",  # paid now
        "B,c2,2025-03-01 11:00,2025-03-01 11:01,paid,50,1,S2,1,50",  # same
        "C,c1,2025-03-02 12:00,2025-03-02 12:01,paid,70,2,S3,2,35",
    ])
    up1 = upload_bytes(store, day1, name="d1.csv")
    upload_process(upload_id=up1.pk)
    up2 = upload_bytes(store, day2, name="d2.csv")
    result = upload_process(upload_id=up2.pk)
    assert (result.orders_created, result.orders_updated) == (1, 1)
    assert Order.objects.filter(store=store).count() == 3
    assert Order.objects.get(store=store, external_id="A").status == "paid"
    assert OrderLine.objects.filter(order__store=store).count() == 3
    assert Customer.objects.filter(store=store).count() == 2
    paid = SalesDaily.objects.filter(store=store).values_list("orders_paid", flat=True)
    assert sum(paid) == 3


def _load_through_orm(store, data: bytes, name: str) -> None:
    """The SQLite path's loader (bulk ORM writes), here on PostgreSQL."""
    from stores.ingest.pipeline import ReportWriter, read_and_stage

    upload = upload_bytes(store, data, name=name)
    path = Path(upload.file.path)
    stager = load_orm.OrmStager()
    report = ReportWriter(path.with_suffix(".report.csv"))
    read_and_stage(path=path, tz=store.timezone, kind="orders", stager=stager, report=report)
    report.close()
    load_orm.lock_store(store)
    load_orm.apply(stager=stager, store=store, upload=upload)


@pytest.mark.parametrize("loader", ["copy", "orm"])
def test_customer_lifetimes_after_overlapping_loads_match_their_orders(store, loader):
    """Each loader keeps lifetimes itself (the refresh after a load does
    not): after a re-export that pays an order, adds one and moves c3's only
    order to a new buyer, every customer's columns are those of their
    orders, and a full refresh changes nothing."""
    day1 = generic([
        "A,c1,2025-03-01 10:00,,unpaid,100,1,S1,1,100",
        "B,c2,2025-03-01 11:00,2025-03-01 11:01,paid,50,1,S2,1,50",
        "D,c3,2025-03-01 12:00,2025-03-01 12:01,paid,30,1,S4,1,30",
    ])
    day2 = generic([
        "A,c1,2025-03-01 10:00,2025-03-02 09:00,paid,100,1,S1,1,100",
        "C,c2,2025-03-02 12:00,2025-03-02 12:01,paid,70,2,S3,2,35",
        "D,c4,2025-03-01 12:00,2025-03-01 12:01,paid,30,1,S4,1,30",
    ])
    for name, data in (("d1.csv", day1), ("d2.csv", day2)):
        if loader == "orm":
            _load_through_orm(store, data, name)
        else:
            assert upload_process(upload_id=upload_bytes(store, data, name=name).pk).status == "loaded"

    def lifetimes():
        return {
            c.external_id: (c.first_paid_at, c.last_paid_at, c.paid_orders, c.paid_amount)
            for c in Customer.objects.filter(store=store)
        }

    def from_orders():
        expected = {}
        for customer in Customer.objects.filter(store=store):
            paid = [o for o in customer.orders.all() if o.is_paid]
            placed = [o.placed_at for o in paid]
            expected[customer.external_id] = (
                min(placed, default=None), max(placed, default=None), len(paid),
                sum((o.amount - o.refunded_amount for o in paid), Decimal("0")),
            )
        return expected

    loaded = lifetimes()
    assert loaded == from_orders()
    assert loaded["c3"] == (None, None, 0, Decimal("0"))
    assert loaded["c2"][2:] == (2, Decimal("120.00"))
    rollups_refresh(store=store)
    assert lifetimes() == loaded


def test_rejected_file_leaves_the_database_exactly_as_it_was(store):
    load(store, FIXTURES / "generic_orders.csv")
    before = table_fingerprint()
    rows = [f"X{i},c{i},2025-03-0{1 + i % 5} 10:00,,paid,{'oops' if i % 4 == 0 else 10},1,S,1,10" for i in range(40)]
    upload = load(store, upload_bytes(store, generic(rows), name="bad.csv").file.path)
    assert upload.status == UploadStatus.REJECTED
    assert upload.error_code == "too_many_bad_rows"
    assert upload.rows_rejected == 10 and upload.rows_read == 40
    assert upload.error_report.name.endswith(".csv")
    report = upload.error_report.open("rb").read().decode("utf-8-sig")
    assert "not an amount of money" in report and "oops" in report
    assert upload.file.storage.exists(upload.file.name)  # the upload is kept
    assert table_fingerprint() == before


def test_few_bad_rows_load_the_rest_and_report_them(store):
    rows = [f"X{i},c{i % 7},2025-03-01 10:00,,paid,10,1,S,1,10" for i in range(40)]
    rows[5] = "X5,c1,2025-03-01 10:00,,paid,-10,1,S,1,10"
    upload = load(store, upload_bytes(store, generic(rows), name="ok.csv").file.path)
    assert upload.status == UploadStatus.LOADED
    assert (upload.rows_read, upload.rows_loaded, upload.rows_rejected) == (40, 39, 1)
    assert "7,amount,negative amount,-10" in upload.error_report.open("rb").read().decode("utf-8-sig")
    assert not Order.objects.filter(store=store, external_id="X5").exists()


@pytest.mark.parametrize(("data", "code"), [(b"", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00" * 50, "binary")])
def test_empty_or_binary_upload_is_rejected_cleanly(store, data, code):
    before = table_fingerprint()
    upload = upload_bytes(store, data, name="file.csv")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.error_code) == (UploadStatus.REJECTED, code)
    assert table_fingerprint() == before


def test_traffic_reupload_replaces_days_never_adds(store):
    ChannelMapping.objects.create(store=store, source_name="淘宝客", channel="ads")
    load(store, FIXTURES / "generic_traffic.csv", kind="traffic")
    assert TrafficDaily.objects.get(store=store, date="2025-03-01", channel="ads").visitors == 400
    newer = b"date,channel,visitors,page_views\n2025-03-02,search,1200,3500\n2025-03-03,search,900,2000\n"
    upload = load(store, upload_bytes(store, newer, name="t2.csv", kind="traffic").file.path, kind="traffic")
    assert upload.status == UploadStatus.LOADED
    assert TrafficDaily.objects.filter(store=store).count() == 5
    day2 = TrafficDaily.objects.get(store=store, date="2025-03-02", channel="search")
    assert (day2.visitors, day2.inquirers) == (1200, None)


def test_hand_mapping_is_saved_and_reused(store, analyst):
    data = b"Invoice,Buyer,When,Total\nI1,b1,2025-03-01 10:00,12.50\nI2,,2025-03-01 11:00,8\n"
    upload = upload_bytes(store, data, name="shop.csv")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.NEEDS_MAPPING
    assert upload.columns == ["Invoice", "Buyer", "When", "Total"]
    column_mapping_save(
        upload=upload,
        mapping={"order_id": "Invoice", "customer_id": "Buyer", "placed_at": "When", "amount": "Total"},
        user=analyst,
    )
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED, upload.error
    assert ColumnMapping.objects.filter(store=store).count() == 1
    # The next file with that header needs no mapping.
    later = upload_bytes(store, b"Invoice,Buyer,When,Total\nI3,b2,2025-03-02 10:00,5\n", name="shop2.csv")
    upload_process(upload_id=later.pk)
    later.refresh_from_db()
    assert later.status == UploadStatus.LOADED
    assert Order.objects.filter(store=store).count() == 3


def test_orm_loader_gives_the_same_orders_as_copy(store):
    """The SQLite path (bulk ORM writes) and the COPY path agree, file by file."""
    selling_in_euros(store)
    other_store = StoreFactory(slug="twin", timezone=store.timezone, currency="EUR")
    from stores.ingest.pipeline import ReportWriter, read_and_stage

    for name in ("shopify_orders_export.csv", "tmall_suborders.csv", "ExportOrderList202510.csv"):
        load(store, FIXTURES / name)
        upload = upload_file(other_store, FIXTURES / name)
        stager = load_orm.OrmStager()
        report = ReportWriter(Path(upload.file.storage.path(f"reports/orm-{upload.pk}.csv")))
        read_and_stage(path=FIXTURES / name, tz=other_store.timezone, kind="orders", stager=stager, report=report)
        report.close()
        load_orm.lock_store(other_store)
        load_orm.apply(stager=stager, store=other_store, upload=upload)

    def snapshot(s):
        return sorted(
            Order.objects.filter(store=s).values_list(
                "external_id", "status", "amount", "refunded_amount", "items", "channel", "customer__external_id", "placed_at", "paid_at"
            )
        ), sorted(OrderLine.objects.filter(order__store=s).values_list("order__external_id", "line_no", "sku", "quantity", "unit_price", "amount"))

    assert snapshot(store) == snapshot(other_store)
    assert connection.vendor == "postgresql"
