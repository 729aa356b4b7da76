"""Zone abbreviations after a time: one offset each, or the store's own."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from stores.ingest import zones
from stores.ingest.pipeline import ReportWriter, read_and_stage
from tests.stores.ingest.helpers import ListStager


@pytest.mark.parametrize(
    ("name", "tz", "expected"),
    [
        ("CET", "Asia/Shanghai", 60),
        ("cest", "America/New_York", 120),
        ("PDT", "Europe/Berlin", -420),
        ("EST", "America/New_York", -300),  # written in summer too: it still says -5
        ("CST", "Asia/Shanghai", 480),  # China Standard Time
        ("CST", "America/Chicago", -360),  # US Central
        ("IST", "Asia/Kolkata", 330),
        ("BST", "Europe/London", 60),
    ],
)
def test_an_abbreviation_stands_for_its_offset(name, tz, expected):
    assert zones.minutes(name, tz) == expected


@pytest.mark.parametrize(("name", "tz"), [("CST", "Europe/Berlin"), ("IST", "America/New_York"), ("XYZ", "Asia/Shanghai")])
def test_a_name_shared_by_zones_is_unreadable_outside_them(name, tz):
    assert math.isnan(zones.minutes(name, tz))


def test_every_fixed_offset_is_one_its_zones_have_had():
    """Each fixed abbreviation is what some real zone calls itself at that offset."""
    seen: dict[str, set[int]] = {}
    for tz in ("Europe/Lisbon", "Europe/Paris", "Europe/Athens", "Europe/Moscow", "Africa/Johannesburg",
               "Africa/Lagos", "Africa/Nairobi", "Asia/Karachi", "Asia/Kathmandu", "Asia/Bangkok",
               "Asia/Jakarta", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Manila", "Australia/Perth",
               "Asia/Tokyo", "Asia/Seoul", "Australia/Adelaide", "Australia/Sydney", "Pacific/Auckland",
               "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
               "America/Anchorage", "Pacific/Honolulu", "America/St_Johns", "America/Halifax"):
        for month in (1, 7):
            moment = datetime(2025, month, 1, 12, tzinfo=ZoneInfo(tz))
            seen.setdefault(str(moment.tzname()), set()).add(int(moment.utcoffset().total_seconds() // 60))
    for name, offset in zones.FIXED.items():
        if name in seen:
            assert offset in seen[name], name


def read(tmp_path: Path, tz: str, times: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the staged rows, the rejection report) of an orders file with these times."""
    path = tmp_path / "orders.csv"
    body = "".join(f"O{i},C{i},{t},paid,10.00\n" for i, t in enumerate(times))
    path.write_text("order_id,customer_id,placed_at,status,amount\n" + body, encoding="utf-8")
    stager = ListStager()
    report = ReportWriter(tmp_path / "report.csv")
    try:
        read_and_stage(path=path, tz=tz, kind="orders", stager=stager, report=report, max_bad_share=1.0)
    finally:
        report.close()
    rejected = pd.read_csv(tmp_path / "report.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return stager.rows, rejected


def test_times_written_with_an_abbreviation_are_read_at_its_offset(tmp_path):
    staged, rejected = read(tmp_path, "Asia/Shanghai", [
        "2025-10-07 09:50:26 CET", "2025-10-07 09:50 PM PDT", "2025-10-07 09:50:26 CST", "2025-10-07 09:50:26",
    ])
    assert rejected.empty
    assert [t.isoformat() for t in staged.sort_values("order_id")["placed_at"]] == [
        "2025-10-07T08:50:26+00:00",  # CET: an hour east
        "2025-10-08T04:50:00+00:00",  # 21:50 seven hours west
        "2025-10-07T01:50:26+00:00",  # a Shanghai store's CST: China Standard Time
        "2025-10-07T01:50:26+00:00",  # no zone: the store's
    ]


def test_a_shared_abbreviation_outside_its_zones_is_refused_saying_why(tmp_path):
    staged, rejected = read(tmp_path, "Europe/Berlin", ["2025-10-07 09:50:26 CET", "2025-10-07 09:50:26 CST", "07/10/2025 nine"])
    assert staged["order_id"].tolist() == ["O0"]
    by_row = dict(zip(rejected["row"], rejected["reason"], strict=True))
    assert by_row["3"].startswith("the time zone written after the time is one several zones share")
    assert by_row["4"] == "not a date and time"
    assert set(rejected["column"]) == {"placed_at"}


def test_a_shared_abbreviation_that_spells_out_its_zone_is_read_as_that_zone(tmp_path):
    staged, rejected = read(tmp_path, "Europe/Berlin", [
        "2025-10-07 09:50:26 CST (China Standard Time)", "2025-10-07 09:50:26 CST (Central Standard Time)",
        "2025-10-07 09:50:26 IST (India Standard Time)", "2025-10-07 09:50:26 CST (Coffee Time)",
    ])
    assert [t.isoformat() for t in staged.sort_values("order_id")["placed_at"]] == [
        "2025-10-07T01:50:26+00:00", "2025-10-07T15:50:26+00:00", "2025-10-07T04:20:26+00:00"]
    assert rejected["row"].tolist() == ["5"]  # a name no zone goes by says nothing
    assert rejected["reason"].iloc[0].startswith("the time zone written after the time is one several zones share")
