"""Recognising exports and reading them as they come (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stores.ingest import normalise, reader
from stores.ingest.errors import IngestError, NeedsMappingError
from stores.ingest.formats import best_score, detect
from stores.ingest.pipeline import ReportWriter, fill_order_fields, read_and_stage
from tests.stores.ingest.helpers import FIXTURES, ListStager


def run(path: Path, tmp_path: Path, **kwargs):
    stager = ListStager()
    report = ReportWriter(tmp_path / "report.csv")
    try:
        result = read_and_stage(path=path, tz=kwargs.pop("tz", "Asia/Shanghai"), stager=stager, report=report, **kwargs)
    finally:
        report.close()
    return result, stager, pd.read_csv(tmp_path / "report.csv", encoding="utf-8-sig", dtype=str)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("shopify_orders_export.csv", "shopify"),
        ("ExportOrderList202510.csv", "taobao"),
        ("tmall_suborders.csv", "tmall_lines"),
        ("generic_orders.csv", "generic"),
        ("generic_traffic.csv", "generic_traffic"),
    ],
)
def test_each_fixture_is_recognised_by_its_header(name, key):
    info = reader.sniff(FIXTURES / name, score=best_score)
    fmt = detect(info.columns)
    assert fmt is not None and fmt.key == key


def test_taobao_report_in_gbk_is_decoded_and_unwrapped(tmp_path):
    raw = (FIXTURES / "ExportOrderList202510.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    info = reader.sniff(FIXTURES / "ExportOrderList202510.csv", score=best_score)
    assert info.encoding == "gb18030"
    result, stager, report = run(FIXTURES / "ExportOrderList202510.csv", tmp_path, kind="orders")
    rows = stager.rows.set_index("order_id")
    # ="1760012345678901" comes out as the plain number, statuses map onto ours.
    assert rows.loc["1760012345678901", "status"] == "paid"
    assert rows.loc["1760012345678902", "status"] == "unpaid"
    assert rows.loc["1760012345678902", "amount"] == "1078.00"  # unpaid: the total, not 0
    assert rows.loc["1760012345678905", "status"] == "closed"
    assert rows.loc["1760012345678906", "status"] == "refunded"  # paid, then closed by refund
    assert rows.loc["1760012345678901", "placed_at"] == pd.Timestamp("2025-10-01 02:00:01", tz="UTC")
    assert result.rows_rejected == 0 and len(report) == 0


def test_shopify_order_fields_fill_down_from_the_first_line(tmp_path):
    result, stager, _ = run(FIXTURES / "shopify_orders_export.csv", tmp_path, kind="orders")
    rows = stager.rows
    second_line = rows[(rows.order_id == "#1001") & (rows.sku == "JAS-050")].iloc[0]
    assert second_line["status"] == "paid"
    assert second_line["customer_id"] == "ana@example.com"
    assert second_line["placed_at"] == pd.Timestamp("2025-10-07 07:50:26", tz="UTC")
    assert rows.set_index("order_id").loc["#1002", "amount"] == "1234.50"  # "1.234,50"
    assert rows.set_index("order_id").loc["#1004", "status"] == "closed"  # voided
    assert rows.set_index("order_id").loc["#1003", "channel"] == "community"  # instagram
    assert result.rows_staged == 6


def test_fill_down_never_takes_another_orders_value():
    canon = pd.DataFrame(
        {"order_id": ["A", "A", "B", "B"], "paid_at": ["t1", None, None, None]}, dtype="str"
    )
    for col in ("customer_id", "placed_at", "status", "amount", "refunded_amount", "items", "channel", "inquired", "currency"):
        canon[col] = pd.Series([None] * 4, dtype="str")
    carry = pd.DataFrame({c: ["Z"] if c == "order_id" else [None] for c in canon.columns}, dtype="str")
    filled = fill_order_fields(canon, carry)
    assert list(filled["paid_at"].fillna("-")) == ["t1", "t1", "-", "-"]


def test_order_continues_across_chunks(tmp_path):
    lines = ["order_id,placed_at,status,amount,sku,quantity,unit_price"]
    for i in range(400):
        order = f"O{i // 4}"
        head = i % 4 == 0
        lines.append(f"{order},{'2025-01-01 10:00:00' if head else ''},{'paid' if head else ''},{'40' if head else ''},S{i},1,10")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    info = reader.sniff(path, score=best_score)
    chunks = list(reader.iter_chunks(info, block_bytes=1024))
    assert len(chunks) > 5  # really split into many chunks
    result, stager, report = run(path, tmp_path, kind="orders")
    assert result.rows_rejected == 0
    assert stager.rows["status"].eq("paid").all()
    assert stager.rows["row_no"].tolist() == list(range(2, 402))


def test_semicolon_delimited_with_bom_and_decimal_commas(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        "\ufefforder_id;placed_at;status;amount\nA;2025-01-01 10:00;paid;1.234,50 €\nB;2025-01-02 10:00;paid;€ 12,00\n".encode()
    )
    info = reader.sniff(path, score=best_score)
    assert info.delimiter == ";" and info.encoding == "utf-8-sig"
    _, stager, _ = run(path, tmp_path, kind="orders", tz="Europe/Berlin")
    assert stager.rows["amount"].tolist() == ["1234.50", "12.00"]
    assert stager.rows["placed_at"].iloc[0] == pd.Timestamp("2025-01-01 09:00", tz="UTC")


def test_money_and_protected_cells():
    text, value, invalid = normalise.money(pd.Series(["¥1,234.50", "1.234,50 €", "12", "abc", None], dtype="str"))
    assert text.tolist()[:3] == ["1234.50", "1234.50", "12"]
    assert invalid.tolist() == [False, False, False, True, False]
    assert reader.clean_cell('="0012345"') == "0012345"
    assert reader.clean_cell("'13800001111") == "13800001111"
    assert normalise.identifiers(pd.Series(["14620.0", "A1"], dtype="str")).tolist() == ["14620", "A1"]


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/London", "America/New_York"])
def test_local_times_are_read_in_the_store_time_zone(tz):
    parsed, invalid = normalise.datetimes(pd.Series(["2025-07-01 12:00:00", "2025-07-01 12:00:00 +0000"], dtype="str"), tz=tz)
    assert parsed.iloc[0] == pd.Timestamp("2025-07-01 12:00", tz=tz).tz_convert("UTC")
    assert parsed.iloc[1] == pd.Timestamp("2025-07-01 12:00", tz="UTC")
    assert not invalid.any()


def test_row_errors_name_row_column_and_reason(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,placed_at,status,amount,quantity\n"
        "A,2025-01-01 10:00,paid,10,1\n"
        "B,not a date,paid,10,1\n"
        "C,2025-01-01 10:00,lost,10,1\n"
        "D,2025-01-01 10:00,paid,ten,1\n"
        "E,2025-01-01 10:00,paid,10,-2\n"
        "A,2025-01-01 10:00,paid,10,1\n"
    )
    result, stager, report = run(path, tmp_path, kind="orders", max_bad_share=1.0)
    assert stager.rows["order_id"].tolist() == ["A"]
    got = {(r.row, r.column, r.reason.split(":")[0]) for r in report.itertuples()}
    assert ("3", "placed_at", "not a date and time") in got
    assert ("4", "status", "unknown order status") in got
    assert ("5", "amount", "not an amount of money") in got
    assert ("6", "quantity", "negative quantity") in got
    assert ("7", "nan", "exact duplicate of row 2") in {(r.row, str(r.column), r.reason) for r in report.itertuples()}
    assert result.rows_rejected == 5


def test_too_many_bad_rows_refuses_the_file(tmp_path):
    path = tmp_path / "orders.csv"
    rows = ["order_id,placed_at,status,amount"] + [f"O{i},2025-01-01,paid,{'x' if i % 10 == 0 else 5}" for i in range(100)]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(IngestError) as exc:
        run(path, tmp_path, kind="orders")
    assert exc.value.code == "too_many_bad_rows"
    assert exc.value.rows_rejected == 10 and exc.value.rows_read == 100
    assert "10 of 100" in exc.value.message


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary\x00\xff" * 100, "binary"),
        (b"order_id,placed_at,status,amount\n", "empty"),
    ],
)
def test_empty_and_binary_files_get_a_clear_error(tmp_path, content, code):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError) as exc:
        run(path, tmp_path, kind="orders")
    assert exc.value.code == code


def test_a_traffic_file_uploaded_as_orders_is_refused(tmp_path):
    with pytest.raises(IngestError) as exc:
        run(FIXTURES / "generic_traffic.csv", tmp_path, kind="orders")
    assert exc.value.code == "wrong_kind"


def test_unknown_header_asks_for_a_mapping(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Invoice,When,Total\n1,2025-01-01,3\n")
    with pytest.raises(NeedsMappingError) as exc:
        run(path, tmp_path, kind="orders")
    assert exc.value.columns == ["Invoice", "When", "Total"]
    result, stager, _ = run(
        path, tmp_path, kind="orders", mapping={"order_id": "Invoice", "placed_at": "When", "amount": "Total"}
    )
    assert stager.rows.iloc[0]["status"] == "paid"  # no status column: a sale


def sycm_workbook(path: Path, *, daily: bool) -> None:
    if daily:
        header = ["日期", "一级来源", "二级来源", "访客数", "支付金额", "支付买家数"]
        body = [
            ["2025-10-07", "淘内免费", "手淘搜索", 1200, 3000, 30],
            ["2025-10-07", "付费流量", "直通车", 500, 1500, 10],
            ["2025-10-07", "付费流量", "淘宝客", 300, 900, 5],
            ["2025-10-07", "自主访问", "购物车", 200, 800, 8],
            ["2025-10-08", "淘内免费", "手淘搜索", 1000, 2000, 20],
        ]
    else:
        header = ["流量来源", "来源明细", "访客数", "浏览量", "支付买家数", "下单买家数", "新访客"]
        body = [
            ["淘内免费", "", 1500, 4000, 30, 35, 900],
            ["淘内免费", "手淘搜索", 1200, 3300, 25, 28, 700],
            ["淘内免费", "猜你喜欢", 300, 700, 5, 7, 200],
            ["付费流量", "聚划算", 400, 1000, 12, 14, 300],
            ["付费流量", "钻石展位", 250, 500, 3, 4, 200],
        ]
    preamble = [["【生意参谋平台】流量来源"], ["统计时间 2025-10-07 ~ 2025-10-07"], []]
    width = len(header)
    frame = pd.DataFrame([row + [None] * (width - len(row)) for row in preamble] + [header] + body)
    frame.to_excel(path, header=False, index=False)


def test_sycm_excel_with_header_on_a_later_row(tmp_path):
    path = tmp_path / "【生意参谋】流量来源-2025-10-07.xlsx"
    sycm_workbook(path, daily=False)
    info = reader.sniff(path, score=best_score)
    assert info.excel and info.header_row == 3
    result, stager, _ = run(path, tmp_path, kind="traffic")
    rows = stager.rows
    assert result.format_key == "sycm"
    # The total row of 淘内免费 is dropped: its details are there. It is not
    # data: read = loaded + rejected.
    assert (result.rows_read, result.rows_staged, result.rows_rejected) == (4, 4, 0)
    by_channel = rows.groupby("channel")["visitors"].sum().to_dict()
    assert by_channel == {"search": 1200, "other": 300, "activity": 400, "ads": 250}
    assert set(rows["date"].astype(str)) == {"2025-10-07"}


def test_sycm_source_form_without_a_date_is_refused(tmp_path):
    path = tmp_path / "traffic-sources.xlsx"
    sycm_workbook(path, daily=False)
    with pytest.raises(IngestError) as exc:
        run(path, tmp_path, kind="traffic")
    assert exc.value.code == "no_date"


def test_sycm_daily_form_maps_platform_channels(tmp_path):
    path = tmp_path / "daily.xlsx"
    sycm_workbook(path, daily=True)
    result, stager, _ = run(path, tmp_path, kind="traffic", channel_table={"购物车": "community"})
    rows = stager.rows
    assert result.format_key == "sycm_daily"
    got = rows[rows["date"].astype(str) == "2025-10-07"].groupby("channel")["visitors"].sum().to_dict()
    assert got == {"search": 1700, "cps": 300, "community": 200}


def test_a_generic_file_keeps_the_channels_it_names_in_our_words(tmp_path):
    """Our own channel keys, as the generic CSV documents them, are ours; a
    platform's names go through the rules; a name nothing knows is other."""
    path = tmp_path / "orders.csv"
    names = ["search", "cps", "community", "ads", "activity", "other", "Organic", "淘宝客", "Google Ads",
             "Facebook Ads", "手淘首页"]
    path.write_text("order_id,placed_at,status,amount,channel\n" + "".join(
        f"A{i},2025-03-01 10:00,paid,10,{name}\n" for i, name in enumerate(names)))
    _result, stager, _report = run(path, tmp_path, kind="orders")
    assert stager.rows.sort_values("row_no")["channel"].tolist() == [
        "search", "cps", "community", "ads", "activity", "other", "other", "cps", "search", "ads", "other"]
