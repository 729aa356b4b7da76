"""A column's way of writing dates and amounts holds for the whole file,
however it is cut into chunks: a file read month-first in its first chunks
and shown day-first later is read again, all of it day-first."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from stores.ingest.conventions import Convention, ConventionChanged
from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import Order
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import ListStager
from tests.stores.ingest.test_stage_postgres import copy_load

HEADER = "order_id,customer_id,placed_at,status,amount\n"


def eu_file(path: Path) -> Path:
    """Days 1-12 first (either order would do), then the 13th on: day-first.
    Amounts: 1.000 first (one, or a thousand?), a decimal comma later."""
    rows = [f"E{i},c{i},{1 + i % 12:02d}/10/2025 10:00,paid,\"1.000\"" for i in range(300)]
    rows += [f"L{i},c{i},{13 + i % 15}/10/2025 10:00,paid,\"12,50\"" for i in range(300)]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def stage(path: Path, tmp_path: Path, block_bytes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    stager = ListStager()
    report = ReportWriter(tmp_path / "report.csv")
    read_and_stage(path=path, tz="Europe/Berlin", kind="orders", stager=stager, report=report,
                   block_bytes=block_bytes)
    report.close()
    return stager.rows, pd.read_csv(tmp_path / "report.csv", encoding="utf-8-sig")


@pytest.mark.parametrize("block_bytes", [1024, 1 << 20], ids=["many chunks", "one chunk"])
def test_dates_and_amounts_are_read_one_way_through_the_file(tmp_path, block_bytes):
    rows, report = stage(eu_file(tmp_path / "eu.csv"), tmp_path, block_bytes)
    assert report.empty
    assert len(rows) == 600 and rows["row_no"].tolist() == list(range(2, 602))
    local = rows["placed_at"].dt.tz_convert(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert (local.dt.month == 10).all()
    assert local.iloc[0].day == 1 and local.iloc[11].day == 12
    assert set(rows["amount"].iloc[:300]) == {"1000"}
    assert set(rows["amount"].iloc[300:]) == {"12.50"}


def test_a_cell_against_the_settled_way_is_rejected(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = [f"D{i},c{i},{13 + i % 15}/10/2025 10:00,paid,10" for i in range(50)]
    rows += ["X1,x,10/13/2025 10:00,paid,10"]  # month-first in a day-first column
    path.write_text(HEADER + "\n".join(rows) + "\n")
    staged, report = stage(path, tmp_path, 512)
    assert report[["row", "column"]].to_numpy().tolist() == [[52, "placed_at"]]
    assert len(staged) == 50


def test_settling_the_other_way_after_assuming_one_asks_for_another_pass():
    convention = Convention("placed_at")
    convention.assume(False)
    with pytest.raises(ConventionChanged):
        convention.settle(True)
    assert convention.settled is True
    again = Convention("amount")
    again.assume(True)
    again.settle(True)  # what was assumed: no second pass
    assert again.settled is True


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_copy_path_reads_again_into_empty_staging_tables(tmp_path):
    store = StoreFactory(timezone="Europe/Berlin", currency="EUR")
    copy_load(store, eu_file(tmp_path / "eu.csv"), 1024)
    orders = Order.objects.filter(store=store)
    assert orders.count() == 600
    first = orders.get(external_id="E0")
    assert first.amount == Decimal("1000.00")
    assert first.placed_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date().isoformat() == "2025-10-01"
    assert not orders.exclude(placed_at__month=10).exists()
