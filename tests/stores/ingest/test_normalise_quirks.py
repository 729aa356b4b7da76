"""What real exports write that a first reading got wrong: hour-only offsets
and zone names, decimal commas decided per column, day-first dates decided
per column, accounting negatives and order numbers Excel turned into
scientific notation (no database needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from stores.ingest import normalise
from tests.stores.ingest.test_formats import run

UTC = "UTC"


def times(cells: list[str | None], tz: str = "Asia/Shanghai", fmt: str | None = None) -> tuple[list, list[bool]]:
    parsed, invalid = normalise.datetimes(pd.Series(cells, dtype="str"), tz=tz, fmt=fmt)
    return parsed.tolist(), invalid.tolist()


def amounts(cells: list[str | None]) -> tuple[list, list[bool]]:
    text, _, invalid = normalise.money(pd.Series(cells, dtype="str"))
    return [None if pd.isna(t) else t for t in text], invalid.tolist()


# Times that write their own zone -----------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "2025-10-07T10:00:00+08",
        "2025-10-07T10:00:00+0800",
        "2025-10-07T10:00:00+08:00",
        "2025-10-07 10:00:00 +08:00",
        "2025-10-07 10:00:00 GMT+8",
        "2025-10-07 10:00:00 UTC+08:00",
        "2025-10-07 02:00:00 UTC",
        "2025-10-07 02:00:00 GMT",
        "2025-10-07T02:00:00Z",
        "2025-10-06T21:00:00-05",
        "Tue Oct 07 2025 10:00:00 GMT+0800 (China Standard Time)",
        "20251007T100000+0800",  # basic ISO: pandas finds the zone itself
    ],
)
@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/London", "America/New_York"])
def test_a_written_zone_gives_the_instant_whatever_the_store_zone(cell, tz):
    # Alone, and beside a cell without a zone (pandas refuses such mixes).
    for cells in ([cell], [cell, "2025-10-07 10:00:00", "10/07/2025 10:00"]):
        parsed, invalid = times(cells, tz=tz)
        assert parsed[0] == pd.Timestamp("2025-10-07 02:00", tz=UTC), cells
        assert invalid == [False] * len(cells)
        if len(cells) > 1:
            local = pd.Timestamp("2025-10-07 10:00", tz=tz).tz_convert(UTC)
            assert parsed[1] == parsed[2] == local


def test_zone_and_format_from_the_platform_agree():
    cells = ["2025-10-07 07:50:26 +0200", "2025-10-07 13:50:26 +08", "2025-10-07 07:50:26", "garbage"]
    parsed, invalid = times(cells, tz="Europe/Berlin", fmt="%Y-%m-%d %H:%M:%S %z")
    assert parsed[:3] == [pd.Timestamp("2025-10-07 05:50:26", tz=UTC)] * 3
    assert invalid == [False, False, False, True]


@pytest.mark.parametrize(
    "cell",
    [
        "2025-10-07 10:00:00 IST",  # India, Israel or Ireland: not guessed outside them
        "2025-10-07 10:00+25",  # no such offset
        "2025-10-07 10:00:00 +08 00",
        "not a time",
        "31/02/2025 10:00",
    ],
)
def test_an_unreadable_time_is_a_rejected_cell_not_an_error(cell):
    parsed, invalid = times([cell, "2025-10-07 10:00:00+08", "2025-10-07 10:00:00", None])
    assert pd.isna(parsed[0]) and invalid == [True, False, False, False]
    assert parsed[1] == parsed[2] == pd.Timestamp("2025-10-07 02:00", tz=UTC)


def test_an_hour_only_offset_in_a_file_loads(tmp_path):
    path = tmp_path / "orders.csv"
    lines = ["order_id,placed_at,paid_at,status,amount"]
    lines += [f"O{i},2025-10-07 10:00:00,2025-10-07 10:01:00,paid,10.00" for i in range(5)]
    lines += [
        "X,2025-10-07T10:00:00+08,2025-10-07T10:01:00+08,paid,10.00",
        "Y,2025-10-07 02:00:00 UTC,2025-10-07 02:01:00 UTC,paid,10.00",
    ]
    path.write_text("\n".join(lines) + "\n")
    result, stager, report = run(path, tmp_path, kind="orders", tz="Asia/Shanghai")
    assert result.rows_rejected == 0 and len(report) == 0
    placed = stager.rows.set_index("order_id")["placed_at"]
    assert (placed == pd.Timestamp("2025-10-07 02:00", tz=UTC)).all()


# Day and month ----------------------------------------------------------------------


def test_a_day_above_12_makes_the_whole_column_day_first():
    parsed, invalid = times(["07.10.2025 14:30", "13.10.2025 09:00", "07/10/2025 14:30", "13/10/2025 09:00"])
    assert [p.tz_convert("Asia/Shanghai").strftime("%d %b %H:%M") for p in parsed] == [
        "07 Oct 14:30", "13 Oct 09:00", "07 Oct 14:30", "13 Oct 09:00",
    ]
    assert not any(invalid)


def test_a_month_second_above_12_makes_the_column_month_first():
    parsed, _ = times(["10/07/2025 09:00", "10/13/2025 09:00"])
    assert [p.tz_convert("Asia/Shanghai").date().isoformat() for p in parsed] == ["2025-10-07", "2025-10-13"]


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("07.10.2025", "2025-10-07"),  # German: 7 October
        ("07.10.25 14:30", "2025-10-07"),
        ("12/1/2010 8:26", "2010-12-01"),  # the UCI Online Retail file: month first
        ("10-07-2025", "2025-10-07"),
        ("2025/10/7 9:50", "2025-10-07"),
        ("2025年10月7日 9:50", "2025-10-07"),
    ],
)
def test_without_evidence_dots_are_day_first_and_slashes_month_first(cell, day):
    parsed, invalid = times([cell], tz="Europe/London")
    assert parsed[0].tz_convert("Europe/London").date().isoformat() == day
    assert invalid == [False]


def test_a_column_showing_both_orders_rejects_only_the_ambiguous_cells():
    parsed, invalid = times(["13/10/2025", "10/13/2025", "07/10/2025", "07/07/2025"])
    local = [None if pd.isna(p) else p.tz_convert("Asia/Shanghai").date().isoformat() for p in parsed]
    assert local == ["2025-10-13", "2025-10-13", None, "2025-07-07"]
    assert invalid == [False, False, True, False]


def test_eu_dates_in_a_file_are_one_order(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id;placed_at;status;amount\n"
        "A;07.10.2025 14:30;paid;10,00\n"
        "B;13.10.2025 09:00;paid;20,00\n"
        "C;07/10/2025 14:30;paid;30,00\n"
        "D;13/10/2025 09:00;paid;1.000\n"
    )
    result, stager, report = run(path, tmp_path, kind="orders", tz="Europe/Berlin")
    rows = stager.rows.set_index("order_id")
    assert rows.loc["A", "placed_at"] == rows.loc["C", "placed_at"] == pd.Timestamp("2025-10-07 12:30", tz=UTC)
    assert rows.loc["B", "placed_at"] == pd.Timestamp("2025-10-13 07:00", tz=UTC)
    assert rows["amount"].tolist() == ["10.00", "20.00", "30.00", "1000"]
    assert result.rows_rejected == 0


# Money ------------------------------------------------------------------------------


def test_in_a_decimal_comma_column_a_dot_groups_thousands():
    text, invalid = amounts(["1.234,50", "1.000", "2.500,00 €", "12,00", "1.234.567", "12", None])
    assert text == ["1234.50", "1000", "2500.00", "12.00", "1234567", "12", None]
    assert not any(invalid)


def test_in_a_decimal_comma_column_a_cell_showing_its_own_decimal_keeps_it():
    # Shopify writes "1.234,50" beside "58.90" in one column (see the fixture);
    # only the cells that could be read either way follow the column.
    text, invalid = amounts(["1.234,50", "58.90", "¥1,234.50", "1.000", "1,234"])
    assert text == ["1234.50", "58.90", "1234.50", "1000", None]
    assert invalid == [False, False, False, False, True]  # 1,234: a thousand or 1.234?


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1,234.50", "1.000", "1,234"], ["1234.50", "1.000", "1234"]),  # dot-decimal column: as before
        (["1.000"], ["1.000"]),  # nothing says otherwise: one
        (["¥1,234.50", "$ 12", "RMB 88"], ["1234.50", "12", "88"]),
        (["1 234,56", "0,99"], ["1234.56", "0.99"]),
    ],
)
def test_dot_decimal_and_undecided_columns_read_as_before(cells, expected):
    text, invalid = amounts(cells)
    assert text == expected and not any(invalid)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("(12.00)", "-12.00"),
        ("(¥12.00)", "-12.00"),
        ("¥(1,234.50)", "-1234.50"),
        ("12.00-", "-12.00"),
        ("-¥12.00", "-12.00"),
        ("(1.234,50 €)", "-1234.50"),
    ],
)
def test_accounting_negatives_are_negative(cell, expected):
    text, value, invalid = normalise.money(pd.Series([cell], dtype="str"))
    assert text.iloc[0] == expected and value.iloc[0] < 0 and not invalid.iloc[0]


def test_a_bracketed_amount_is_rejected_as_negative(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,placed_at,status,amount\n"
        "A,2025-10-07 10:00:00,paid,(12.00)\n"
        'B,2025-10-07 10:00:00,paid,"(¥1,200.00)"\n'
        "C,2025-10-07 10:00:00,paid,12.00\n"
    )
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["order_id"].tolist() == ["C"]
    assert sorted(zip(report["row"].astype(int), report["reason"], strict=True)) == [(2, "negative amount"), (3, "negative amount")]


# Identifiers ------------------------------------------------------------------------


def test_scientific_notation_ids_are_flagged():
    cells = pd.Series(["3.761E+18", "2.0251E+12", "1e5", "3761000000000000000", "E1001", "1.5E", None], dtype="str")
    assert normalise.scientific_notation(cells).tolist() == [True, True, True, False, False, False, False]


def test_order_numbers_excel_cut_are_rejected_with_the_reason(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,placed_at,status,amount\n"
        "3.761E+18,2025-10-07 10:00:00,paid,10.00\n"
        "3761234567890123456,2025-10-07 10:00:00,paid,10.00\n"
    )
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["order_id"].tolist() == ["3761234567890123456"]
    assert report["row"].astype(int).tolist() == [2]
    assert report["reason"].iloc[0] == (
        "order number in scientific notation (Excel cut its digits): "
        "export the file again without opening it in Excel"
    )
    assert report["value"].iloc[0] == "3.761E+18"
