"""A store remembers how its files write 05/03/2025 (day or month first), and
reads its files that do not say by it; a file that says wins, and is learnt.
The upload says when its dates were read by an order it assumed, and the
same file can be loaded again once the store's order is put right."""

from __future__ import annotations

import io
import json
import zoneinfo
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import DateOrder, Order, Store, TrafficDaily, Upload, UploadStatus
from stores.upload_loading import upload_process
from tests.factories import OrderFactory, StoreFactory, UserFactory
from tests.stores.ingest.helpers import ListStager, upload_bytes
from tests.stores.ingest.helpers import load_bytes as load
from tests.stores.ingest.helpers import paid_orders_csv as orders_csv

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")






def uk_store(date_order: str = "", *, seeded: bool = False) -> Store:
    store = StoreFactory(timezone="Europe/London", date_order=date_order)
    if seeded:  # not the store's first import: the file goes through staging
        OrderFactory(store=store, external_id="old", placed_at=datetime(2025, 1, 2, 9, tzinfo=LONDON))
    return store


def placed(store: Store, external_id: str = "D0") -> datetime:
    return Order.objects.get(store=store, external_id=external_id).placed_at.astimezone(LONDON)


@pytest.mark.parametrize("seeded", [False, True], ids=["first import", "staged"])
def test_a_day_first_store_reads_an_ambiguous_daily_file_day_first(seeded):
    store = uk_store(DateOrder.DMY, seeded=seeded)
    upload = load(store, orders_csv("05/03/2025 10:00"))
    assert upload.status == UploadStatus.LOADED, upload.error
    assert placed(store) == datetime(2025, 3, 5, 10, 0, tzinfo=LONDON)
    order = Order.objects.get(store=store, external_id="D0")
    assert order.paid_at == order.placed_at
    assert (upload.date_order_assumed, upload.date_order_source) == ("dmy", "store")
    store.refresh_from_db()
    assert store.date_order == "dmy"


@pytest.mark.parametrize(
    ("written", "day", "assumed"),
    [("05/03/2025 10:00", datetime(2025, 5, 3, 10, tzinfo=LONDON), "mdy"),
     ("05.03.2025 10:00", datetime(2025, 3, 5, 10, tzinfo=LONDON), "dmy")],
    ids=["slashes month first", "dots day first"],
)
def test_without_a_store_order_the_rule_reads_it_and_the_upload_says_so(written, day, assumed):
    store = uk_store()
    upload = load(store, orders_csv(written))
    assert upload.status == UploadStatus.LOADED, upload.error
    assert placed(store) == day
    assert (upload.date_order_assumed, upload.date_order_source) == (assumed, "rule")
    store.refresh_from_db()
    assert store.date_order == ""  # assumed, not learnt


@pytest.mark.parametrize("seeded", [False, True], ids=["first import", "staged"])
def test_a_file_that_shows_day_first_teaches_a_blank_store(seeded):
    store = uk_store(seeded=seeded)
    upload = load(store, orders_csv("05/03/2025 10:00", "13/03/2025 11:00"))
    assert upload.status == UploadStatus.LOADED, upload.error
    assert placed(store, "D0") == datetime(2025, 3, 5, 10, tzinfo=LONDON)
    assert placed(store, "D1") == datetime(2025, 3, 13, 11, tzinfo=LONDON)
    assert (upload.date_order_assumed, upload.date_order_source) == ("", "")
    store.refresh_from_db()
    assert store.date_order == "dmy"
    # The next day's small file, ambiguous throughout, is read the learnt way.
    daily = load(store, orders_csv("06/03/2025 09:00").replace(b"D0", b"N0"), name="next.csv")
    assert placed(store, "N0") == datetime(2025, 3, 6, 9, tzinfo=LONDON)
    assert daily.date_order_assumed == "dmy"


def test_a_file_showing_month_first_wins_over_a_day_first_store(settings, caplog):
    """Read in small chunks: the first ones, all ambiguous, are read day first
    as the store says; a later 03/13/2025 shows month first, and the file is
    read again from the top that way."""
    settings.INGEST_BLOCK_BYTES = 1024
    store = uk_store(DateOrder.DMY, seeded=True)
    ambiguous = [f"{1 + i % 12:02d}/03/2025 10:00" for i in range(100)]
    showing = [f"03/{13 + i % 15}/2025 10:00" for i in range(100)]
    with caplog.at_level("INFO", logger="stores.ingest.pipeline"):
        upload = load(store, orders_csv(*ambiguous, *showing))
    assert upload.status == UploadStatus.LOADED, upload.error
    assert "column placed_at settled another way" in caplog.text
    assert (upload.rows_read, upload.rows_loaded, upload.rows_rejected) == (200, 200, 0)
    assert upload.orders_created == 200
    assert placed(store, "D0") == datetime(2025, 1, 3, 10, tzinfo=LONDON)  # 01/03: 3 January
    assert placed(store, "D4") == datetime(2025, 5, 3, 10, tzinfo=LONDON)  # 05/03: May 3
    assert placed(store, "D100") == datetime(2025, 3, 13, 10, tzinfo=LONDON)
    assert (upload.date_order_assumed, upload.date_order_source) == ("", "")
    store.refresh_from_db()
    assert store.date_order == "mdy"


def test_the_read_reports_what_it_settled_and_assumed(tmp_path):
    def read(data: bytes, date_order: str):
        path = tmp_path / "orders.csv"
        path.write_bytes(data)
        report = ReportWriter(tmp_path / "report.csv")
        try:
            return read_and_stage(path=path, tz="Europe/London", kind="orders", stager=ListStager(),
                                  report=report, date_order=date_order, block_bytes=1024)
        finally:
            report.close()

    ambiguous = orders_csv("05/03/2025 10:00")
    assert (read(ambiguous, "dmy").date_order_settled, read(ambiguous, "dmy").date_order_assumed) == ("", "dmy")
    assert read(ambiguous, "").date_order_assumed == "mdy"
    shows = orders_csv("05/03/2025 10:00", "13/03/2025 10:00")
    assert (read(shows, "mdy").date_order_settled, read(shows, "mdy").date_order_assumed) == ("dmy", "")
    iso = orders_csv("2025-03-05 10:00")
    assert (read(iso, "dmy").date_order_settled, read(iso, "dmy").date_order_assumed) == ("", "")


def test_the_upload_page_tells_a_member_how_ambiguous_dates_were_read(client, analyst, store):
    store.date_order = DateOrder.DMY
    store.save(update_fields=["date_order"])
    upload = load(store, orders_csv("05/03/2025 10:00"))
    client.force_login(analyst)
    url = reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": upload.pk})
    page = client.get(url).content.decode()
    assert 'id="date-order-note"' in page
    assert "Dates such as 05/03/2025 were read day first (5 March)" in page
    assert "Read them month first instead" in page  # the other way, a button away
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "05/03/2025 这类日期按日在前读取（3月5日）" in chinese
    api = client.get(reverse("stores:api_upload_detail", kwargs={"upload_id": upload.pk})).json()
    assert (api["date_order_assumed"], api["date_order_source"]) == ("dmy", "store")


def test_a_file_whose_dates_say_their_order_gets_no_note(client, analyst, store):
    upload = load(store, orders_csv("13/03/2025 10:00"))
    client.force_login(analyst)
    page = client.get(reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": upload.pk}))
    assert upload.status == UploadStatus.LOADED
    assert 'id="date-order-note"' not in page.content.decode()


@pytest.mark.parametrize("who", ["outsider", "operator"])
def test_the_page_with_the_note_is_still_refused_to_others(client, request, store, who):
    upload = load(store, orders_csv("05/03/2025 10:00"))
    assert upload.date_order_assumed == "mdy"
    client.force_login(request.getfixturevalue(who))
    detail = {"slug": store.slug, "upload_id": upload.pk}
    assert client.get(reverse("stores:upload_detail", kwargs=detail)).status_code == 404
    assert client.get(reverse("stores:api_upload_detail", kwargs={"upload_id": upload.pk})).status_code == 404


def test_the_same_file_loads_again_once_the_store_says_the_other_order():
    store = uk_store()
    data = orders_csv("05/03/2025 10:00")
    first = load(store, data)
    assert placed(store) == datetime(2025, 5, 3, 10, tzinfo=LONDON)
    assert load(store, data).status == UploadStatus.DUPLICATE  # nothing changed: still a twin

    store.date_order = DateOrder.DMY  # as an admin sets it
    store.save(update_fields=["date_order"])
    again = load(store, data)
    assert again.status == UploadStatus.LOADED, again.error
    assert (again.orders_created, again.orders_updated) == (0, 1)
    assert placed(store) == datetime(2025, 3, 5, 10, tzinfo=LONDON)
    assert (again.date_order_assumed, again.date_order_source) == ("dmy", "store")

    third = load(store, data)
    assert third.status == UploadStatus.DUPLICATE and third.duplicate_of_id == again.pk
    assert first.pk != again.pk


def test_a_file_that_showed_its_order_stays_a_twin_whatever_the_store_says():
    store = uk_store()
    data = orders_csv("13/03/2025 10:00", "05/03/2025 10:00")
    assert load(store, data).status == UploadStatus.LOADED
    store.date_order = DateOrder.MDY
    store.save(update_fields=["date_order"])
    assert load(store, data).status == UploadStatus.DUPLICATE


def test_ingest_command_names_the_assumed_order(tmp_path):
    store = uk_store()
    path = tmp_path / "daily.csv"
    path.write_bytes(orders_csv("05/03/2025 10:00"))
    out = io.StringIO()
    call_command("ingest", str(path), "--store", store.slug, stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (result["status"], result["date_order"]) == ("loaded", "mdy")
    iso = tmp_path / "iso.csv"
    iso.write_bytes(orders_csv("2025-03-06 10:00").replace(b"D0", b"I0"))
    out = io.StringIO()
    call_command("ingest", str(iso), "--store", store.slug, stdout=out)
    assert "date_order" not in json.loads(out.getvalue().strip().splitlines()[-1])


def test_the_admin_edits_a_stores_date_order(client, store):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    url = reverse("admin:stores_store_change", args=[store.pk])
    page = client.get(url).content.decode()
    assert 'name="date_order"' in page and "dates like 05/03/2025" in page.lower()


TRAFFIC = "date,channel,visitors\n"


def load_traffic(store: Store, *days: str) -> Upload:
    body = "".join(f"{day},search,{100 + i}\n" for i, day in enumerate(days))
    upload = upload_bytes(store, (TRAFFIC + body).encode(), name="traffic.csv", kind="traffic")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED, upload.error
    return upload


def test_a_traffic_file_of_ambiguous_days_is_read_in_the_stores_order():
    store = uk_store(DateOrder.DMY)
    upload = load_traffic(store, "05/03/2025")
    assert list(TrafficDaily.objects.filter(store=store).values_list("date", flat=True)) == [date(2025, 3, 5)]
    assert (upload.date_order_assumed, upload.date_order_source) == ("dmy", "store")


def test_a_traffic_file_teaches_the_store_and_a_blank_store_falls_back_to_the_rule():
    store = uk_store()
    ambiguous = load_traffic(store, "04/03/2025")
    assert TrafficDaily.objects.get(store=store).date == date(2025, 4, 3)  # slashes: month first
    assert (ambiguous.date_order_assumed, ambiguous.date_order_source) == ("mdy", "rule")
    load_traffic(store, "13/03/2025", "14/03/2025")  # shows day first
    store.refresh_from_db()
    assert store.date_order == DateOrder.DMY
    assert set(TrafficDaily.objects.filter(store=store).values_list("date", flat=True)) == {
        date(2025, 4, 3), date(2025, 3, 13), date(2025, 3, 14)}
