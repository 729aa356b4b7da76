"""Exports as Excel and hand-made files leave them: an encoding that shows
only far into the file, UTF-16, a cell of megabytes, a trailing comma on
every row, a workbook that opens on a notes sheet (no database needed)."""

from __future__ import annotations

import gzip
import itertools

import pytest

from stores.ingest import reader
from stores.ingest.errors import IngestError
from stores.ingest.formats import best_score
from tests.stores.ingest.test_formats import run

GENERIC = "order_id,customer_id,placed_at,paid_at,status,amount,channel"


def generic_row(i: int, *, customer: str = "", channel: str = "search") -> str:
    return f"G{i},{customer or f'c{i}'},2025-08-01 10:00:00,2025-08-01 10:01:00,paid,{i}.50,{channel}"


def report_rows(report) -> list[tuple[int, str]]:
    return sorted((int(r.row), r.reason) for r in report.itertuples())


def chunks_of(path, *, block_bytes: int = reader.DEFAULT_BLOCK_BYTES):
    info = reader.sniff(path, score=best_score)
    bad_rows: list[reader.BadRow] = []
    chunks = list(reader.iter_chunks(info, block_bytes=block_bytes, bad_rows=bad_rows))
    rows = [
        (int(n), dict(zip(chunk.frame.columns, values, strict=True)))
        for chunk in chunks
        for n, values in zip(chunk.row_no, chunk.frame.itertuples(index=False), strict=True)
    ]
    return info, rows, sorted((b.row_no, b.reason) for b in bad_rows)


# Encoding


@pytest.mark.parametrize("where", [0.5, 1.0], ids=["middle", "end"])
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_gbk_that_is_plain_ascii_for_its_first_256kb_is_read_as_gbk(tmp_path, where, compression):
    lines = [GENERIC, *(generic_row(i) for i in range(1, 8001))]  # about 570 KB
    chinese = int(len(lines) * where) - 1
    lines[chinese] = generic_row(chinese, customer="王先生", channel="聚划算")
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    assert data[: reader.SAMPLE_BYTES].isascii()
    path = tmp_path / "orders.csv"
    path.write_bytes(gzip.compress(data) if compression else data)
    assert reader.sniff(path, score=best_score).encoding == "gb18030"
    result, stager, report = run(path, tmp_path, kind="orders")
    assert result.rows_staged == 8000 and len(report) == 0
    rows = stager.rows.set_index("row_no")
    assert rows.loc[chinese + 1, "customer_id"] == "王先生"


def mixed_file(tmp_path):
    """UTF-8 throughout, but for two rows pasted in from a GBK export, where
    none of the sampled slices falls; returns the path and the first of them."""
    lines = [GENERIC, generic_row(1, customer="李女士"), *(generic_row(i) for i in range(2, 16001))]
    ends = list(itertools.accumulate(len(line) + 1 for line in lines))
    first = next(i for i, end in enumerate(ends) if end > ends[-1] * 0.45)  # 45% in: between two slices
    # The first pasted row has the foreign text in its last column, the next
    # in its second: arrow reports the next (it converts column by column).
    gbk = {first: generic_row(first, channel="聚划算"), first + 1: generic_row(first + 1, customer="王先生")}
    data = b"".join(
        (gbk[i].encode("gbk") if i in gbk else line.encode()) + b"\n" for i, line in enumerate(lines)
    )
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    return path, first + 1


def test_a_file_mixing_encodings_is_refused_naming_the_first_foreign_row(tmp_path):
    path, row = mixed_file(tmp_path)
    assert reader.sniff(path, score=best_score).encoding == "utf-8"
    with pytest.raises(IngestError) as refused:
        run(path, tmp_path, kind="orders")
    assert refused.value.code == "mixed_encoding"
    assert refused.value.message == (
        f"The file mixes text encodings: row {row} is not written in the same encoding as the rows "
        "before it. Nothing was loaded: save the file as UTF-8 and upload it again."
    )


def test_a_mixed_file_names_the_row_as_a_spreadsheet_counts_it_below_a_title(tmp_path):
    path, row = mixed_file(tmp_path)
    # A title over two lines and a blank row above the header: two more rows, three more lines.
    path.write_bytes(b'"Orders\nshop: Leaf"\n\n' + path.read_bytes())
    info = reader.sniff(path, score=best_score)
    assert info.header_row == 2
    with pytest.raises(IngestError) as refused:
        list(reader.iter_chunks(info, block_bytes=64 * 1024))
    assert refused.value.code == "mixed_encoding"
    assert f"row {row + 2} is not written" in refused.value.message


@pytest.mark.parametrize(
    "encode",
    [lambda text: text.encode("utf-16"), lambda text: b"\xfe\xff" + text.encode("utf-16-be")],
    ids=["utf-16", "utf-16-be"],
)
def test_excel_unicode_text_utf16_with_tabs_is_read(tmp_path, encode):
    lines = [
        "order_id\tcustomer_id\tplaced_at\tpaid_at\tstatus\tamount",
        "U-1\t王先生\t2025-10-07 10:00:00\t2025-10-07 10:01:00\tpaid\t12.50",  # row 2
        "U-2\t李女士\t2025-10-07 11:00:00\t\tunpaid\t8",  # row 3
        "U-3\tc3\t2025-10-07 12:00:00",  # row 4: malformed
        "U-4\t赵\t2025-10-07 13:00:00\t2025-10-07 13:01:00\tpaid\t30",  # row 5
    ]
    path = tmp_path / "orders.txt"
    path.write_bytes(encode("\r\n".join(lines) + "\r\n"))
    info = reader.sniff(path, score=best_score)
    assert (info.encoding, info.delimiter) == ("utf-16", "\t")
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    rows = stager.rows.set_index("order_id")
    assert rows["row_no"].to_dict() == {"U-1": 2, "U-2": 3, "U-4": 5}
    assert rows.loc["U-1", "customer_id"] == "王先生" and rows.loc["U-4", "customer_id"] == "赵"
    assert report_rows(report) == [(4, "expected 6 columns, found 3")]


def test_binary_data_behind_a_utf16_bom_is_still_binary(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\xff\xfe" + b"".join(bytes([b, 0]) for b in range(1, 9)) * 500)  # U+0001...
    with pytest.raises(IngestError) as refused:
        reader.sniff(path, score=best_score)
    assert refused.value.code == "binary"


# Large cells

BIG_HEADER = "order_id,placed_at,status,amount,title"


def big_file(
    tmp_path, *, cell_bytes: int, char: str = "龙", rows: int = 60, big_row: int = 40, malformed: tuple[int, ...] = ()
):
    lines = [BIG_HEADER]
    for row in range(2, rows + 2):
        if row == big_row:
            lines.append(f'B{row},2025-01-01 10:00:00,paid,1,"{char * (cell_bytes // len(char.encode()))}"')
        elif row in malformed:
            lines.append(f"B{row},2025-01-01 10:00:00,paid")
        else:
            lines.append(f"B{row},2025-01-01 10:00:00,paid,1,tea")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_cell_of_megabytes_is_read_with_larger_blocks(tmp_path):
    path = big_file(tmp_path, cell_bytes=4 * 1024 * 1024)
    _, rows, bad = chunks_of(path)
    assert [n for n, _ in rows] == list(range(2, 62))
    assert len(dict(rows)[40]["title"]) == 4 * 1024 * 1024 // 3
    assert bad == []


def test_rows_read_before_the_long_row_are_not_handed_out_twice(tmp_path):
    # Small blocks: many chunks go out before the long row stops the first pass.
    path = big_file(tmp_path, cell_bytes=300 * 1024, rows=400, big_row=300, malformed=(20, 299, 350))
    _, rows, bad = chunks_of(path, block_bytes=1024)
    numbers = [n for n, _ in rows]
    assert numbers == [n for n in range(2, 402) if n not in (20, 299, 350)]
    assert all(values["order_id"] == f"B{n}" for n, values in rows)
    assert bad == [(n, "expected 5 columns, found 3") for n in (20, 299, 350)]


def test_a_cell_larger_than_the_largest_block_refuses_the_file_naming_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(reader.chunks, "MAX_READ_BLOCK_BYTES", 1024 * 1024)
    path = big_file(tmp_path, cell_bytes=3 * 1024 * 1024, big_row=7)
    with pytest.raises(IngestError) as refused:
        run(path, tmp_path, kind="orders")
    assert refused.value.code == "cell_too_large"
    assert refused.value.message == (
        "Row 7 has a cell of more than 1 MB, too large to read. Nothing was loaded: shorten that "
        "cell (or close a quote left open in that row) and upload the file again."
    )


def test_a_cell_over_the_csv_modules_limit_in_the_sniffed_sample_does_not_stop_sniffing(tmp_path):
    # 150k characters: over the csv module's 128k, inside the first 256 KB.
    path = big_file(tmp_path, cell_bytes=150 * 1024, char="x", rows=3, big_row=2)
    info, rows, bad = chunks_of(path)
    assert info.columns == BIG_HEADER.split(",")
    assert [n for n, _ in rows] == [2, 3, 4] and bad == []


# A trailing comma on every data row


def test_one_empty_trailing_field_on_the_data_rows_is_ignored(tmp_path):
    header = "order_id,customer_id,placed_at,paid_at,status,amount"
    lines = [
        header,
        "T1,t1,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,5,",  # row 2
        "T2,t2,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,6, ",  # row 3
        ",,,,,,",  # row 4: empty
        "T4,t4,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,7,oops",  # row 5: one field too many
        "T5,t5,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,8",  # row 6: no trailing comma
        "T6,t6,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,9,,",  # row 7: two more fields
        "T7,t7,2025-10-07 10:00:00,,unpaid,10,",  # row 8
        "T8,t8,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,11,",  # row 9
        "T9,t9,2025-10-07 10:00:00,2025-10-07 10:00:01,paid,12,",  # row 10
    ]
    path = tmp_path / "orders.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    info = reader.sniff(path, score=best_score)
    assert info.trailing_field and info.columns == header.split(",")
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert dict(zip(stager.rows["order_id"], stager.rows["row_no"], strict=True)) == {"T1": 2, "T2": 3, "T7": 8, "T8": 9, "T9": 10}
    assert report_rows(report) == [
        (5, "expected 6 columns, found 7"),
        (6, "expected 6 columns followed by an empty one, as on the other rows, found 6"),
        (7, "expected 6 columns, found 8"),
    ]
    assert result.rows_read == 8 and result.rows_rejected == 3


def test_trailing_commas_are_ignored_across_many_chunks(tmp_path):
    lines = ["order_id,placed_at,status,amount"]
    lines += [f"O{row},2025-01-01 10:00:00,paid,{row}," for row in range(2, 402)]
    lines[100 - 1] = "O100,2025-01-01 10:00:00,paid,100,surplus"
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    result, stager, report = run(path, tmp_path, kind="orders", block_bytes=1024, max_bad_share=1.0)
    staged = stager.rows
    assert (staged["order_id"] == "O" + staged["row_no"].astype(str)).all()
    assert sorted(staged["row_no"]) == [row for row in range(2, 402) if row != 100]
    assert report_rows(report) == [(100, "expected 4 columns, found 5")]


def test_an_extra_field_that_holds_data_is_not_taken_for_a_trailing_comma(tmp_path):
    lines = ["order_id,placed_at,status,amount"] + [f"O{i},2025-01-01 10:00:00,paid,{i},note {i}" for i in range(5)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    assert not reader.sniff(path, score=best_score).trailing_field
    with pytest.raises(IngestError) as refused:
        run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert refused.value.code == "too_many_bad_rows"
    assert refused.value.rows_rejected == 5


# Workbooks


@pytest.mark.parametrize("data_first", [False, True], ids=["notes-first", "data-first"])
def test_the_sheet_holding_the_table_is_read_not_the_first(tmp_path, data_first):
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本报表由系统导出"])
    notes.append(["导出时间", "2025-10-10"])
    data = book.create_sheet("订单明细", index=0 if data_first else 1)
    data.append(["Exported 2025-10-10"])
    data.append(["order_id", "customer_id", "placed_at", "paid_at", "status", "amount"])
    data.append(["MS-1", "m1", "2025-10-07 10:00:00", "2025-10-07 10:01:00", "paid", "10"])
    data.append([])
    data.append(["MS-2", "m2", "2025-10-07 11:00:00", "2025-10-07 11:01:00", "lost", "20"])
    data.append(["MS-3", "m3", "2025-10-07 12:00:00", "2025-10-07 12:01:00", "paid", "30"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    info = reader.sniff(path, score=best_score)
    assert (info.sheet, info.header_row) == ("订单明细", 1)
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert result.format_key == "generic"
    assert dict(zip(stager.rows["order_id"], stager.rows["row_no"], strict=True)) == {"MS-1": 3, "MS-3": 6}
    assert report_rows(report) == [(5, "unknown order status")]


def test_a_workbook_of_unknown_sheets_is_read_from_its_widest(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["cover"])
    table = book.create_sheet("table")
    table.append(["a", "b", "c"])
    table.append(["1", "2", "3"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    info = reader.sniff(path, score=best_score)
    assert (info.sheet, info.columns) == ("table", ["a", "b", "c"])
    _, rows, _ = chunks_of(path)
    assert rows == [(2, {"a": "1", "b": "2", "c": "3"})]
