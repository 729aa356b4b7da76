"""An order with a refused line is refused whole: its other lines name the
refused row, whether they come before or after it, in the same chunk or
across a chunk boundary, on every loader."""

from __future__ import annotations

import pytest

from stores.models import Order, OrderLine, UploadStatus
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import load, upload_bytes

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,placed_at,status,sku,quantity,unit_price\n"


def orders_file(bad: dict[str, int]) -> tuple[str, dict[str, list[int]]]:
    """Small orders around two long ones (40 lines: they cross chunk
    boundaries at 2 KB a chunk); ``bad`` gives an order a line whose quantity
    is unreadable, by its position. Returns the text and each order's rows."""
    lines, rows = [], {}
    sizes = ([(f"S{i}", 1) for i in range(30)] + [("LONG1", 40)] + [(f"M{i}", 2) for i in range(20)]
             + [("LONG2", 40)] + [(f"T{i}", 1) for i in range(30)])
    for n, (order_id, size) in enumerate(sizes):
        for k in range(size):
            quantity = "many" if bad.get(order_id) == k else "2"
            lines.append(f"{order_id},c{n % 7},2025-03-01 10:00,paid,SKU{k},{quantity},9.90\n")
            rows.setdefault(order_id, []).append(len(lines) + 1)  # the header is row 1
    return HEADER + "".join(lines), rows


@pytest.mark.parametrize("block_bytes", [2048, 1 << 20], ids=["chunks", "one chunk"])
@pytest.mark.parametrize("first_import", [True, False], ids=["first import", "later upload"])
def test_an_order_with_a_refused_line_is_refused_whole(settings, block_bytes, first_import):
    settings.INGEST_BLOCK_BYTES = block_bytes
    settings.INGEST_MAX_BAD_SHARE = 0.5
    store = StoreFactory()
    if not first_import:
        load(store, upload_bytes(store, (HEADER + "X1,c1,2025-02-01 10:00,paid,SKU,1,5\n").encode(),
                                 name="before.csv").file.path)
    bad = {"LONG1": 37, "LONG2": 2, "M3": 1}  # late in one long order, early in the other
    text, rows = orders_file(bad)
    upload = load(store, upload_bytes(store, text.encode(), name="orders.csv").file.path)
    assert upload.status == UploadStatus.LOADED, upload.error
    refused = {order_id: rows[order_id] for order_id in bad}
    assert upload.rows_rejected == sum(len(r) for r in refused.values())
    assert upload.rows_loaded == sum(len(r) for r in rows.values()) - upload.rows_rejected
    loaded = set(Order.objects.filter(store=store).values_list("external_id", flat=True))
    assert not loaded & set(bad) and {"S0", "M2", "T29"} <= loaded
    assert OrderLine.objects.filter(order__store=store, order__external_id__in=list(bad)).count() == 0
    report = upload.error_report.read().decode("utf-8-sig").splitlines()[1:]
    got = {int(line.split(",")[0]): line for line in report}
    assert sorted(got) == sorted(r for order_rows in refused.values() for r in order_rows)
    for order_id, position in bad.items():
        bad_row = rows[order_id][position]
        assert "quantity" in got[bad_row]
        for row in rows[order_id]:
            if row != bad_row:
                assert f"another line of this order was refused: row {bad_row}" in got[row]
