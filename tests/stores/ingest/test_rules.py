"""Row rules that keep impossible values out: the limits of money and time,
refunds, date ranges, currencies, and what each format reads its own way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.db.models import Sum
from django.utils import timezone

from stores.ingest.errors import IngestError
from stores.ingest.formats import detect
from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import Customer, Order, OrderLine, SalesDaily, Upload, UploadStatus
from stores.upload_loading import upload_process
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import FIXTURES, ListStager, load, upload_bytes

TRILLION = "amount too large: 1,000,000,000,000 or more"


def run(tmp_path: Path, name: str, text: str, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the staged rows, the rejection report) of a file with ``text``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    stager = ListStager()
    report = ReportWriter(tmp_path / "report.csv")
    kwargs.setdefault("max_bad_share", 1.0)
    try:
        read_and_stage(path=path, tz=kwargs.pop("tz", "Asia/Shanghai"), stager=stager, report=report, **kwargs)
    finally:
        report.close()
    rejected = pd.read_csv(tmp_path / "report.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return stager.rows if stager.frames else pd.DataFrame(), rejected


def reasons(report: pd.DataFrame) -> list[tuple[int, str, str]]:
    return sorted((int(r.row), r.column, r.reason) for r in report.itertuples())


def test_money_of_a_trillion_or_more_is_refused_in_every_money_column(tmp_path):
    rows, report = run(
        tmp_path,
        "orders.csv",
        "order_id,placed_at,status,amount,refunded_amount,sku,quantity,unit_price,line_amount\n"
        "A,2025-10-01 10:00,paid,999999999999.99,,S1,1,10,10\n"
        "B,2025-10-01 10:00,paid,100000000000000,,S1,1,10,10\n"
        "C,2025-10-01 10:00,paid,99999999999999999.00,,S1,1,10,10\n"
        "D,2025-10-01 10:00,paid,50,1000000000000,S1,1,10,10\n"
        "E,2025-10-01 10:00,paid,50,,S1,1,1000000000000,\n"
        "F,2025-10-01 10:00,paid,50,,S1,1,10,1e13\n"
        "G,2025-10-01 10:00,paid,50,,S1,3,400000000000,\n",
        kind="orders",
    )
    assert reasons(report) == [
        (3, "amount", TRILLION),
        (4, "amount", TRILLION),
        (5, "refunded_amount", TRILLION),
        (5, "refunded_amount", "refund larger than the amount"),
        (6, "unit_price", TRILLION),
        (7, "line_amount", TRILLION),
        (8, "unit_price", "price times quantity too large: 1,000,000,000,000 or more"),
    ]
    assert rows["order_id"].tolist() == ["A"]
    assert rows["amount"].tolist() == ["999999999999.99"]


def test_orders_placed_or_paid_more_than_a_day_ahead_are_refused(tmp_path):
    now = timezone.now()

    def utc(delta: timedelta) -> str:
        return (now + delta).strftime("%Y-%m-%d %H:%M:%S+00:00")

    rows, report = run(
        tmp_path,
        "orders.csv",
        "order_id,placed_at,paid_at,status,amount\n"
        f"SOON,{utc(timedelta(hours=20))},{utc(timedelta(hours=21))},paid,10\n"
        "Y2031,2031-01-01 10:00:00,2031-01-01 10:00:00,paid,10\n"
        f"LATE_PAY,{utc(timedelta(hours=-1))},{utc(timedelta(days=3))},paid,10\n"
        "OLD,2025-09-10 10:00:00,2025-09-10 10:05:00,paid,10\n",
        kind="orders",
    )
    assert reasons(report) == [
        (3, "paid_at", "paid in the future"),
        (3, "placed_at", "placed in the future"),
        (4, "paid_at", "paid in the future"),
    ]
    assert rows["order_id"].tolist() == ["SOON", "OLD"]


def test_a_refund_larger_than_the_amount_is_refused(tmp_path):
    rows, report = run(
        tmp_path,
        "orders.csv",
        "order_id,placed_at,paid_at,status,amount,refunded_amount,sku,quantity,unit_price,line_amount,line_refund\n"
        "RF-1,2025-10-12 10:00,2025-10-12 10:01,paid,100.00,150.00,,,,,\n"
        "RF-2,2025-10-12 10:00,2025-10-12 10:01,refunded,80.00,80.00,,,,,\n"
        "RF-3,2025-10-12 10:00,2025-10-12 10:01,paid,100.00,30,S1,1,60,60,61\n"
        "RF-4,2025-10-12 10:00,2025-10-12 10:01,paid,,,S1,1,60,60,60.00\n",
        kind="orders",
    )
    assert reasons(report) == [
        (2, "refunded_amount", "refund larger than the amount"),
        (4, "line_refund", "refund larger than the amount"),
    ]
    assert report.set_index("row").loc["2", "value"] == "150.00"
    assert rows["order_id"].tolist() == ["RF-2", "RF-4"]


def test_a_refunded_order_without_a_refund_amount_is_refunded_in_full(tmp_path):
    rows, report = run(
        tmp_path,
        "orders.csv",
        "order_id,placed_at,paid_at,status,amount,refunded_amount\n"
        "RF-1,2025-10-12 10:00,2025-10-12 10:01,refunded,80.00,\n"
        "RF-2,2025-10-12 11:00,2025-10-12 11:01,refunded,80.00,30.00\n"
        "RF-3,2025-10-12 12:00,2025-10-12 12:01,paid,50.00,\n"
        "RF-4,2025-10-12 13:00,2025-10-12 13:01,refunded,70.00,0.00\n",
        kind="orders",
    )
    assert len(report) == 0
    # RF-4: refunded, with a refund of 0 (as Taobao writes on a paid trade it closed).
    assert rows.set_index("order_id")["refunded_amount"].fillna("-").to_dict() == {
        "RF-1": "80.00", "RF-2": "30.00", "RF-3": "-", "RF-4": "70.00",
    }


def test_taobao_statuses_in_the_wild():
    from stores.ingest.formats.taobao import status_from_text

    texts = {
        "付款以前，卖家或买家主动关闭交易": "closed", "等待卖家发货": "paid", "已取消": "closed",
        "交易创建": "unpaid", "待付款": "unpaid", "预售中": "unpaid", "退款中": "paid",
        "交易关闭": "closed", "买家已付款，等待卖家发货": "paid", "退款成功": "refunded",
    }
    mapped = status_from_text(pd.Series(list(texts), dtype="str"))
    assert dict(zip(texts, mapped, strict=True)) == texts


def test_the_taobao_report_still_refunds_a_closed_paid_order_in_full(tmp_path):
    path = FIXTURES / "ExportOrderList202510.csv"
    stager = ListStager()
    report = ReportWriter(tmp_path / "report.csv")
    read_and_stage(path=path, tz="Asia/Shanghai", kind="orders", stager=stager, report=report)
    report.close()
    refunded = stager.rows.set_index("order_id").loc["1760012345678906"]
    assert refunded["status"] == "refunded"
    assert refunded["refunded_amount"] == refunded["amount"]


SYCM_HEADER = "统计日期,流量来源,来源明细,访客数,浏览量,咨询人数,询单下单人数\n"


def test_a_sycm_week_export_is_refused_row_by_row(tmp_path):
    rows, report = run(
        tmp_path,
        "sycm.csv",
        SYCM_HEADER
        + "2025-10-01~2025-10-07,淘内免费,手淘搜索,7000,21000,140,56\n"
        + "2025-10-03 ~ 2025-10-03,付费流量,直通车,300,600,5,1\n"
        + "2025-10-04,付费流量,直通车,200,400,4,1\n"
        + "2025-10-05~garbage,付费流量,直通车,200,400,4,1\n",
        kind="traffic",
    )
    assert reasons(report) == [
        (2, "统计日期", "a date range, not one day: export daily data"),
        (5, "统计日期", "not a date"),
    ]
    assert report.set_index("row").loc["2", "value"] == "2025-10-01~2025-10-07"
    assert [str(d) for d in rows["date"]] == ["2025-10-03", "2025-10-04"]


def test_sycm_dashes_mean_no_data(tmp_path):
    rows, report = run(
        tmp_path,
        "sycm.csv",
        SYCM_HEADER
        + "2025-10-01,淘内免费,手淘搜索,1000,3000,20,8\n"
        + "2025-10-01,付费流量,直通车,300,600,-,-\n"
        + "2025-10-01,付费流量,淘宝客,—,--,—,--\n",
        kind="traffic",
    )
    assert len(report) == 0
    by_channel = rows.set_index("row_no")
    assert by_channel.loc[3, ["visitors", "page_views"]].tolist() == [300, 600]
    assert by_channel.loc[3, ["inquirers", "inquiry_placers"]].isna().all()
    assert by_channel.loc[4, ["visitors", "page_views"]].tolist() == [0, 0]
    assert by_channel.loc[4, ["inquirers", "inquiry_placers"]].isna().all()


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Currency,Total,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Refunded Amount\n"
)


def test_shopify_emails_are_one_customer_whatever_their_case(tmp_path):
    rows, report = run(
        tmp_path,
        "orders_export.csv",
        SHOPIFY_HEADER
        + "#1,Ana.Ruiz@Example.com ,paid,2025-10-07 09:51:02 +0800,,10.00,2025-10-07 09:50:26 +0800,1,Tea,10.00,0.00\n"
        + "#2,ana.ruiz@example.com,paid,2025-10-08 09:51:02 +0800,,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n"
        + "#3,Guest-AB,paid,2025-10-08 09:51:02 +0800,,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n",
        kind="orders",
    )
    assert len(report) == 0
    assert rows["customer_id"].tolist() == ["ana.ruiz@example.com", "ana.ruiz@example.com", "Guest-AB"]


def test_shopify_orders_in_another_currency_are_refused_with_all_their_lines(tmp_path):
    rows, report = run(
        tmp_path,
        "orders_export.csv",
        SHOPIFY_HEADER
        + "#1,a@example.com,paid,2025-10-07 09:51:02 +0800,EUR,30.00,2025-10-07 09:50:26 +0800,1,Tea,20.00,0.00\n"
        + "#1,,,,,,2025-10-07 09:50:26 +0800,1,Mug,10.00,\n"
        + "#2,b@example.com,paid,2025-10-08 09:51:02 +0800,gbp,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n"
        + "#3,c@example.com,paid,2025-10-08 09:51:02 +0800,,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n",
        kind="orders",
        currency="GBP",
    )
    assert reasons(report) == [
        (2, "Currency", "in EUR; this store keeps GBP"),
        (3, "Currency", "in EUR; this store keeps GBP"),
    ]
    assert rows["order_id"].tolist() == ["#2", "#3"]


def test_the_currency_check_follows_an_order_across_chunks(tmp_path):
    """An order's later lines carry no currency; when a chunk ends inside the
    order they take it from the previous chunk, and are refused with it."""
    head = "#1,a@example.com,paid,2025-10-07 09:51:02 +0800,EUR,30.00,2025-10-07 09:50:26 +0800,1,Tea,20.00,0.00\n"
    more = "".join(f"#1,,,,,,2025-10-07 09:50:26 +0800,1,Mug {i},1.00,\n" for i in range(60))
    ours = "#2,b@example.com,paid,2025-10-08 09:51:02 +0800,GBP,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n"
    rows, report = run(
        tmp_path, "orders_export.csv", SHOPIFY_HEADER + head + more + ours,
        kind="orders", currency="GBP", block_bytes=1024,
    )
    assert len(report) == 61 and set(report["reason"]) == {"in EUR; this store keeps GBP"}
    assert rows["order_id"].tolist() == ["#2"]


TMALL_HEADER = "子订单编号,主订单编号,标题,价格,购买数量,订单状态,商家编码,买家会员名,买家实际支付金额,退款状态,退款金额,订单创建时间,订单付款时间\n"


def test_a_tmall_line_closed_unpaid_is_worth_price_times_quantity(tmp_path):
    rows, report = run(
        tmp_path,
        "tmall_lines.csv",
        TMALL_HEADER
        + "5005,9004,白茶,60.00,3,等待买家付款,BC,buyerC,0.00,没有申请退款,0,2025-10-03 12:00:00,\n"
        + "5006,9005,绿茶,30.00,2,交易关闭,LC,buyerC,0.00,没有申请退款,0,2025-10-03 13:00:00,\n"
        + "5007,9006,红茶,50.00,1,交易成功,HC,buyerB,45.00,没有申请退款,0,2025-10-03 11:00:00,2025-10-03 11:00:30\n",
        kind="orders",
    )
    assert len(report) == 0
    lines = rows.set_index("order_id")
    assert lines.loc["9005", "status"] == "closed"
    # No paid amount: the loader values the line at its price times quantity.
    assert pd.isna(lines.loc["9004", "line_amount"]) and pd.isna(lines.loc["9005", "line_amount"])
    assert lines.loc["9006", "line_amount"] == "45.00"


@pytest.mark.parametrize(
    "header",
    [
        "Order_ID,Customer_ID,Placed_At,PAID_AT,Status,Amount,Notes",
        " order_id , customer_id ,placed_at ,paid_at,STATUS,amount,notes",
    ],
)
def test_generic_headers_match_whatever_their_case_and_spaces(tmp_path, header):
    rows, report = run(
        tmp_path, "orders.csv", header + "\nHV-1,h1,2025-10-07 10:00:00,2025-10-07 10:01:00,Paid,10.00,x\n", kind="orders"
    )
    assert len(report) == 0
    row = rows.iloc[0]
    assert (row["order_id"], row["customer_id"], row["status"], row["amount"]) == ("HV-1", "h1", "paid", "10.00")
    assert row["paid_at"] == pd.Timestamp("2025-10-07 02:01:00", tz="UTC")


@pytest.mark.parametrize(
    ("fixture", "kind", "message"),
    [
        ("generic_traffic.csv", "orders", "This is a traffic file (Generic traffic CSV), not an orders file."),
        ("generic_orders.csv", "traffic", "This is an orders file (Generic orders CSV), not a traffic file."),
    ],
)
def test_a_file_of_the_other_kind_is_named_for_what_it_is(tmp_path, fixture, kind, message):
    with pytest.raises(IngestError) as exc:
        read_and_stage(
            path=FIXTURES / fixture, tz="Asia/Shanghai", kind=kind,
            stager=ListStager(), report=ReportWriter(tmp_path / "report.csv"),
        )
    assert exc.value.code == "wrong_kind"
    assert str(exc.value) == message


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_eur_shopify_export_is_not_loaded_into_a_gbp_store():
    store = StoreFactory(currency="GBP", timezone="Europe/London")
    upload = load(store, FIXTURES / "shopify_orders_export.csv")
    assert upload.status == UploadStatus.REJECTED
    assert "6 of 6 rows" in upload.error
    report = upload.error_report.open("rb").read().decode("utf-8-sig")
    assert "2,Currency,in EUR; this store keeps GBP,EUR" in report
    assert not Order.objects.filter(store=store).exists()


def loaded(store, text: str, name: str) -> Upload:
    upload = upload_bytes(store, text.encode(), name=name)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED, upload.error
    return upload


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_closed_unpaid_tmall_line_is_loaded_at_its_value(store):
    loaded(
        store,
        TMALL_HEADER + "5006,9005,绿茶,30.00,2,交易关闭,LC,buyerC,0.00,没有申请退款,0,2025-10-03 13:00:00,\n",
        "tmall_lines.csv",
    )
    order = Order.objects.get(store=store, external_id="9005")
    assert (order.status, order.amount) == ("closed", Decimal("60.00"))
    assert OrderLine.objects.get(order=order).amount == Decimal("60.00")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_refunded_generic_order_without_a_refund_amount_adds_no_sales(store):
    loaded(
        store,
        "order_id,customer_id,placed_at,paid_at,status,amount\n"
        "RF-1,r1,2025-10-12 10:00,2025-10-12 10:01,refunded,80.00\n"
        "RF-2,r2,2025-10-12 11:00,2025-10-12 11:01,paid,50.00\n",
        "generic.csv",
    )
    assert Order.objects.get(store=store, external_id="RF-1").refunded_amount == Decimal("80.00")
    sales = SalesDaily.objects.filter(store=store).aggregate(total=Sum("sales"))["total"]
    assert sales == Decimal("50.00")


@pytest.mark.postgres
@pytest.mark.django_db
def test_shopify_emails_in_two_cases_load_as_one_customer(store):
    loaded(
        store,
        SHOPIFY_HEADER
        + "#1,Ana.Ruiz@Example.com,paid,2025-10-07 09:51:02 +0800,,10.00,2025-10-07 09:50:26 +0800,1,Tea,10.00,0.00\n"
        + "#2,ana.ruiz@example.com,paid,2025-10-08 09:51:02 +0800,,10.00,2025-10-08 09:50:26 +0800,1,Tea,10.00,0.00\n",
        "orders_export.csv",
    )
    assert list(Customer.objects.filter(store=store).values_list("external_id", flat=True)) == ["ana.ruiz@example.com"]


def test_header_matching_ignores_case_and_spaces_but_keeps_the_files_names():
    header = [" Order_ID ", "PLACED_AT", "Status", "status"]
    fmt = detect(header)
    assert fmt is not None and fmt.key == "generic"
    resolved = fmt.resolve(header)
    # A header written exactly as expected wins over a variant of it.
    assert (resolved["order_id"], resolved["placed_at"], resolved["status"]) == (" Order_ID ", "PLACED_AT", "status")
    taobao = ["订单编号 ", "买家会员名", "订单状态", "订单创建时间", "总金额"]
    assert detect(taobao).key == "taobao"
    assert detect(taobao).resolve(taobao)["order_id"] == "订单编号 "
