"""Rows of one order that name another buyer are rejected, naming the
order's first row; the order keeps what its first row said."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from stores.ingest.conflicts import OrderConflicts
from stores.models import Customer, Order
from tests.stores.ingest.helpers import load

HEADER = "order_id,customer_id,placed_at,paid_at,status,amount,sku,quantity,unit_price\n"


def test_a_later_row_with_another_customer_is_rejected(store, tmp_path: Path):
    others = "".join(f"K-{i},k{i},2025-09-12 10:00:00,,unpaid,10.00,A,1,10.00\n" for i in range(40))
    path = tmp_path / "conflict.csv"
    path.write_text(
        HEADER
        + "CF-1,alice,2025-09-12 10:00:00,2025-09-12 10:01:00,paid,100.00,A,1,100.00\n"
        + others
        + "CF-1,bob,2025-09-12 10:00:00,,unpaid,999.00,B,2,5.00\n"
        + "CF-1,alice,2025-09-12 10:01:00,,paid,100.00,C,1,1.00\n"
    )
    upload = load(store, path)
    # Row 44's time is a minute later: a till's lines straddle minutes, kept.
    assert (upload.status, upload.rows_rejected) == ("loaded", 1)
    report = pd.read_csv(upload.error_report.open())
    assert list(zip(report["row"], report["column"], report["reason"], strict=True)) == [
        (43, "customer_id", "a different customer than row 2 of the same order"),
    ]
    order = Order.objects.get(store=store, external_id="CF-1")
    assert order.customer.external_id == "alice" and order.amount == Decimal("100.00")
    assert order.lines.count() == 2
    assert not Customer.objects.filter(store=store, external_id="bob").exists()


def _rows(*rows: tuple[str, str | None, str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": pd.Series([r[1] for r in rows], dtype="str"),
            "placed_at": pd.to_datetime([r[2] for r in rows], utc=True),
            "row_no": [r[3] for r in rows],
        }
    )


def test_the_order_a_chunk_ends_on_is_checked_in_the_next():
    conflicts = OrderConflicts({"customer_id": "buyer"})
    first, report = conflicts.check(_rows(("A", "x", "2025-01-01", 2), ("B", "y", "2025-01-01", 3)))
    assert len(first) == 2 and report.empty
    second, report = conflicts.check(
        _rows(("B", "z", "2025-01-01", 4), ("B", None, "2025-01-01", 5), ("C", "w", "2025-01-02", 6))
    )
    # Row 4 names another buyer than B's first row (3); row 5 names none: kept.
    assert second["row_no"].tolist() == [5, 6]
    assert report[["row", "column"]].to_numpy().tolist() == [[4, "buyer"]]
    assert report["reason"].tolist() == ["a different customer than row 3 of the same order"]
