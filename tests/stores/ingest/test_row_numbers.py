"""Every rejection names the row a spreadsheet shows: the header is row 1,
a cell's line breaks do not start a new row, and a malformed row keeps its
number, as do the rows after it (no database needed)."""

from __future__ import annotations

import pytest

from stores.ingest.errors import IngestError
from tests.stores.ingest.test_formats import run

HEADER = "order_id,placed_at,status,amount"


def good(i: int) -> str:
    return f"O{i},2025-01-01 10:00:00,paid,{i}"


def report_rows(report) -> list[tuple[int, str]]:
    return [(int(r.row), r.reason) for r in report.itertuples()]


def test_a_malformed_row_is_reported_with_its_row_and_the_rows_after_keep_theirs(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join([HEADER, good(1), good(2), "O3,2025-01-01 10:00:00,paid", good(4), "O5,2025-01-01 10:00:00,lost,5", good(6)])
        + "\n"
    )
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["order_id"].tolist() == ["O1", "O2", "O4", "O6"]
    assert stager.rows["row_no"].tolist() == [2, 3, 5, 7]
    assert sorted(report_rows(report)) == [(4, "expected 4 columns, found 3"), (6, "unknown order status")]
    assert result.rows_read == 6 and result.rows_rejected == 2


def test_malformed_rows_in_many_chunks_keep_every_number(tmp_path):
    lines = [HEADER]
    bad = {40, 41, 200, 333}  # file rows
    for row in range(2, 402):
        lines.append(f"O{row},2025-01-01 10:00:00,paid,1,extra" if row in bad else good(row))
    lines.append(good(100))  # row 402 repeats row 100
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    result, stager, report = run(path, tmp_path, kind="orders", block_bytes=1024, max_bad_share=1.0)
    staged = stager.rows
    assert (staged["order_id"] == "O" + staged["row_no"].astype(str)).all()
    assert sorted(staged["row_no"]) == [row for row in range(2, 402) if row not in bad]
    assert sorted(report_rows(report)) == [
        *[(row, "expected 4 columns, found 5") for row in sorted(bad)],
        (402, "exact duplicate of row 100"),
    ]
    assert result.rows_read == 401 and result.rows_rejected == 5


@pytest.mark.parametrize("block_bytes", [None, 256])
def test_line_breaks_inside_quoted_cells_do_not_shift_row_numbers(tmp_path, block_bytes):
    header = "order_id,placed_at,status,amount,title"
    lines = [
        header,
        'A,2025-01-01 10:00:00,paid,1,"Shipping note:\nleave at the door\nthanks"',  # row 2
        'B,2025-01-01 10:00:00,paid,2,"one\r\ntwo"',  # row 3
        "C,2025-01-01 10:00:00,paid",  # row 4: malformed
        'D,2025-01-01 10:00:00,lost,4,"x"',  # row 5: unknown status
        'E,2025-01-01 10:00:00,paid,5,"a, b\nc"',  # row 6
        'F,2025-01-01 10:00:00,paid,6,"y",surplus',  # row 7: malformed
        'G,2025-01-01 10:00:00,paid,-7,"z"',  # row 8: negative amount
    ]
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0, **kwargs)
    rows = stager.rows.set_index("order_id")
    assert rows["row_no"].to_dict() == {"A": 2, "B": 3, "E": 6}
    assert rows.loc["A", "title"] == "Shipping note:\nleave at the door\nthanks"
    assert sorted(report_rows(report)) == [
        (4, "expected 5 columns, found 3"),
        (5, "unknown order status"),
        (7, "expected 5 columns, found 6"),
        (8, "negative amount"),
    ]


def test_a_line_break_in_the_title_above_the_header_does_not_shift_the_table(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        '"Orders export\nshop: Leaf Co"\n'  # row 1, on two lines
        "\n"  # row 2
        f"{HEADER}\n"  # row 3
        f"{good(1)}\n"  # row 4
        "O2,2025-01-01 10:00:00\n"  # row 5: malformed
        "O3,2025-01-01 10:00:00,lost,3\n"  # row 6
    )
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["order_id"].tolist() == ["O1"]
    assert stager.rows["row_no"].tolist() == [4]
    assert sorted(report_rows(report)) == [(5, "expected 4 columns, found 2"), (6, "unknown order status")]
    assert result.rows_read == 3


@pytest.mark.parametrize("block_bytes", [None, 128])
def test_blank_lines_and_empty_rows_are_not_data_and_keep_the_numbers_after_them(tmp_path, block_bytes):
    lines = [HEADER, good(2), "", good(4), ",,,", good(6), "O7,2025-01-01 10:00:00,lost,7", "", ",,,", ",,,"]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    kwargs = {"block_bytes": block_bytes} if block_bytes else {}
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0, **kwargs)
    assert stager.rows["row_no"].tolist() == [2, 4, 6]
    assert stager.rows["order_id"].tolist() == ["O2", "O4", "O6"]
    # Empty rows are neither read nor rejected (nor duplicates of each other).
    assert report_rows(report) == [(7, "unknown order status")]
    assert result.rows_read == 4 and result.rows_rejected == 1


def test_an_empty_sheet_row_keeps_the_numbers_of_the_rows_below(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(good(2).split(","))
    sheet.append([])  # row 3, empty
    sheet.append(good(4).split(","))
    sheet.append(["O5", "2025-01-01 10:00:00", "lost", "5"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["row_no"].tolist() == [2, 4]
    assert report_rows(report) == [(5, "unknown order status")]
    assert result.rows_read == 3


@pytest.mark.parametrize(
    "tail",
    [
        # The quote closes on a later row, and what it swallowed happens to
        # have the header's width: read naively, rows 4-6 would vanish.
        [good(4), good(5), 'O6,2025-01-01 10:00:00,paid,6"', good(7)],
        # The same, but the swallowed row is too wide (a malformed row).
        [good(4), good(5), 'O6,2025-01-01 10:00:00,paid,6",x', good(7)],
        # The quote never closes: the rest of the file is one broken row.
        [good(4), good(5), good(6)],
    ],
    ids=["closes-later", "closes-later-too-wide", "never-closes"],
)
def test_an_unclosed_quote_refuses_the_file_naming_its_row(tmp_path, tail):
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, good(1), 'O2,2025-01-01 10:00:00,paid,"2', *tail]) + "\n")
    with pytest.raises(IngestError) as refused:
        run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert refused.value.code == "unclosed_quote"
    assert "row 3" in refused.value.message
