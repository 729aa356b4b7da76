"""Identical rows are duplicates, even within one order: the UCI retailer's
export has 5,268 such repeats (tests/stores/ingest/test_realdata.py). An
export that lists the same item twice as two lines tells them apart by any
column that differs, a line number say; every column counts, mapped or not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from stores.models import Order, OrderLine
from tests.stores.ingest.helpers import load

HEADER = "order_id,customer_id,placed_at,paid_at,status,amount,sku,quantity,unit_price\n"
OTHERS = "".join(f"T-{i},t{i},2025-10-07 12:00:00,,unpaid,,TEA,1,10.00\n" for i in range(60))


def test_identical_rows_of_one_order_are_reported_as_duplicates(store, tmp_path: Path):
    path = tmp_path / "cups.csv"
    path.write_text(
        HEADER
        + "IL-1,i1,2025-10-07 10:00:00,2025-10-07 10:01:00,paid,,CUP,1,20.00\n"
        + "IL-1,,,,,,CUP,1,20.00\n"
        + "IL-1,,,,,,CUP,1,20.00\n"
        + OTHERS
    )
    upload = load(store, path)
    assert (upload.status, upload.rows_rejected) == ("loaded", 1)
    assert "exact duplicate of row 3" in upload.error_report.read().decode("utf-8-sig")
    assert Order.objects.get(store=store, external_id="IL-1").items == 2


def test_a_line_number_column_keeps_identical_items_apart(store, tmp_path: Path):
    path = tmp_path / "cups.csv"
    path.write_text(
        HEADER.replace("\n", ",line\n")
        + "IL-1,i1,2025-10-07 10:00:00,2025-10-07 10:01:00,paid,,CUP,1,20.00,1\n"
        + "IL-1,,,,,,CUP,1,20.00,2\n"
        + "IL-1,,,,,,CUP,1,20.00,3\n"
    )
    upload = load(store, path)
    assert (upload.status, upload.rows_rejected, upload.rows_loaded) == ("loaded", 0, 3)
    order = Order.objects.get(store=store, external_id="IL-1")
    assert order.amount == Decimal("60.00") and order.items == 3
    assert OrderLine.objects.filter(order=order).count() == 3


def test_long_cells_are_hashed_whole():
    """Cells past LONG_CELL take another path: they still differ by their last byte."""
    from stores.ingest.duplicates import LONG_CELL, row_hashes

    base = "x" * (LONG_CELL * 50)
    table = pa.table({"note": [base + "a", base + "b", base + "a", "short", None, ""]})
    h = row_hashes(table)
    assert h[0] == h[2] and len({int(v) for v in h}) == 5


def test_the_report_lists_rejections_in_row_order(store, tmp_path: Path):
    """Duplicates, bad cells and a row that does not split, by row, not by kind."""
    import pandas as pd

    path = tmp_path / "mixed.csv"
    path.write_text(
        HEADER
        + "A-1,a,2025-10-07 10:00:00,,unpaid,,TEA,1,10.00\n"
        + "A-2,b,2025-10-07 10:00:00,,unpaid,,TEA,1,abc\n"
        + "A-3,c,2025-10-07 10:00:00,,unpaid,,TEA,1,10.00,extra,cells\n"
        + "A-1,a,2025-10-07 10:00:00,,unpaid,,TEA,1,10.00\n"
        + OTHERS
    )
    upload = load(store, path)
    report = pd.read_csv(upload.error_report.open(), encoding="utf-8-sig")
    assert report["row"].tolist() == [3, 4, 5]
