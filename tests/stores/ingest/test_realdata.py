"""Hand-mapping a real retailer's export: the UCI Online Retail file.

Its header matches no platform, so the analyst maps it: InvoiceNo -> order,
CustomerID (a float such as 14620.0) -> customer, InvoiceDate (UK local
time) -> placed_at, Quantity and UnitPrice -> lines (the order amount is
their sum). Cancellations (invoices starting with C, negative quantities)
are rejected row by row with the reason "negative quantity": the file does
not say which sale they cancel, so counting them as refunds would be a
guess; they stay visible in the rejection report. Exact duplicate lines
are rejected as duplicates of the first occurrence.
"""

from __future__ import annotations

import pandas as pd
import pytest

from stores.models import Customer, Order, UploadStatus
from stores.services import column_mapping_save
from stores.upload_loading import upload_process
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import upload_file

pytestmark = [pytest.mark.realdata, pytest.mark.postgres, pytest.mark.django_db]

MAPPING = {
    "order_id": "InvoiceNo",
    "customer_id": "CustomerID",
    "placed_at": "InvoiceDate",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "sku": "StockCode",
    "title": "Description",
}


def test_online_retail_by_hand_mapping(shared_data):
    path = shared_data / "online_retail_uci.csv.gz"
    store = StoreFactory(slug="uk-gifts", timezone="Europe/London", currency="GBP", platform="other")
    upload = upload_file(store, path)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.NEEDS_MAPPING
    column_mapping_save(upload=upload, mapping=MAPPING)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED, upload.error

    # An independent reading of the file, for the facts the README states.
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    assert len(raw) == upload.rows_read == 541_909
    assert raw["InvoiceNo"].nunique() == 25_900
    assert raw["CustomerID"].dropna().nunique() == 4_372
    duplicated = raw.duplicated()
    assert duplicated.sum() == 5_268

    report = pd.read_csv(upload.error_report.path, encoding="utf-8-sig", dtype=str)
    reasons = report["reason"].fillna("")
    assert reasons.str.startswith("exact duplicate of row").sum() == 5_268
    first_copies = raw[~duplicated]
    negative = first_copies["Quantity"] < 0
    assert reasons.str.startswith("negative quantity").sum() == negative.sum()
    assert negative.sum() + duplicated[raw["Quantity"] < 0].sum() == (raw["Quantity"] < 0).sum()

    accepted = first_copies[(first_copies["Quantity"] >= 0) & (first_copies["UnitPrice"] >= 0)]
    assert Order.objects.filter(store=store).count() == accepted["InvoiceNo"].nunique()
    assert not Order.objects.filter(store=store, external_id__startswith="C").exists()
    # Every invoice is loaded or accounted for by rejected lines: 25,900 in all.
    rejected_only = set(raw["InvoiceNo"]) - set(accepted["InvoiceNo"])
    assert Order.objects.filter(store=store).count() + len(rejected_only) == 25_900
    assert len({i for i in rejected_only if i.startswith("C")}) == 3_836

    # Customers: "14620.0" is customer "14620"; guests stay without one.
    customers = Customer.objects.filter(store=store)
    assert customers.count() == accepted["CustomerID"].dropna().nunique()
    assert customers.filter(external_id="17850").exists()
    assert not customers.filter(external_id__contains=".").exists()
    assert Order.objects.filter(store=store, customer__isnull=True).count() == accepted[accepted["CustomerID"].isna()]["InvoiceNo"].nunique()

    # UK local time: 2010-12-01 08:26 in London is 08:26 UTC (winter).
    first = Order.objects.get(store=store, external_id="536365")
    assert first.placed_at.isoformat() == "2010-12-01T08:26:00+00:00"
    expected = (accepted[accepted["InvoiceNo"] == "536365"].eval("Quantity * UnitPrice")).sum()
    assert float(first.amount) == pytest.approx(expected, abs=0.005)
    assert first.items == accepted[accepted["InvoiceNo"] == "536365"]["Quantity"].sum()
