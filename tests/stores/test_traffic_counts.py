"""A traffic upload says how many day-and-channel figures it added and how
many it replaced from files loaded before, on its page, in the API and in
``manage.py ingest``'s final line."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from stores.ingest import load_orm
from stores.ingest.pipeline import ReportWriter, read_and_stage
from stores.models import Store, TrafficDaily, Upload, UploadStatus
from stores.upload_loading import upload_process
from tests.stores.ingest.helpers import upload_bytes

pytestmark = pytest.mark.django_db

HEADER = "date,channel,visitors,page_views\n"
# 1 March by search, display ads and social: three day-and-channel figures.
FIRST = HEADER + "2025-03-01,search,1000,3000\n2025-03-01,display,400,900\n2025-03-01,facebook,300,600\n"
# The same day again, re-exported with new figures, plus one channel more.
SECOND = (HEADER + "2025-03-01,search,1100,3200\n2025-03-01,display,420,950\n2025-03-01,facebook,310,640\n"
          "2025-03-01,淘宝客,50,80\n")


def load_traffic(store: Store, text: str, name: str) -> Upload:
    upload = upload_bytes(store, text.encode(), name=name, kind="traffic")
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED, upload.error
    return upload


def page(client, upload: Upload, **headers: str) -> str:
    url = reverse("stores:upload_detail", kwargs={"slug": upload.store.slug, "upload_id": upload.pk})
    return client.get(url, **headers).content.decode()


def test_a_second_file_for_the_same_day_says_it_replaced_the_first(store):
    first = load_traffic(store, FIRST, "day.csv")
    assert (first.traffic_created, first.traffic_updated) == (3, 0)
    assert (first.orders_created, first.orders_updated) == (0, 0)
    before = TrafficDaily.objects.filter(store=store, date=date(2025, 3, 1)).count()

    second = load_traffic(store, SECOND, "day-again.csv")
    assert second.traffic_updated == before == 3
    assert second.traffic_created == 1
    assert TrafficDaily.objects.filter(store=store).count() == 4
    assert TrafficDaily.objects.get(store=store, date=date(2025, 3, 1), channel="search").visitors == 1100
    first.refresh_from_db()
    assert (first.traffic_created, first.traffic_updated) == (3, 0)  # what it did then


def test_the_page_shows_days_and_channels_instead_of_orders(client, analyst, store):
    first = load_traffic(store, FIRST, "day.csv")
    client.force_login(analyst)
    shown = page(client, first)
    assert "Days and channels added" in shown and "Days and channels replaced" in shown
    assert '<td class="num" id="traffic-created">3</td>' in shown
    assert '<td class="num" id="traffic-updated">0</td>' in shown
    assert "New orders" not in shown and "Updated orders" not in shown
    assert 'id="traffic-replaced-note"' not in shown

    second = load_traffic(store, SECOND, "day-again.csv")
    shown = page(client, second)
    assert '<td class="num" id="traffic-created">1</td>' in shown
    assert '<td class="num" id="traffic-updated">3</td>' in shown
    assert "3 day-and-channel figures loaded before were replaced by this file's." in shown
    chinese = page(client, second, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "之前导入的 3 个按天和渠道的数据已被本文件的数据替换。" in chinese
    assert "替换的天和渠道" in chinese


def test_a_single_replaced_figure_is_said_in_the_singular(client, analyst, store):
    load_traffic(store, FIRST, "day.csv")
    one = load_traffic(store, HEADER + "2025-03-01,search,1200,3300\n", "search-only.csv")
    client.force_login(analyst)
    assert "1 day-and-channel figure loaded before was replaced by this file's." in page(client, one)


def test_an_orders_upload_keeps_its_order_rows(client, analyst, store):
    data = b"order_id,customer_id,placed_at,paid_at,status,amount\nO1,c1,2025-03-01 10:00,2025-03-01 10:00,paid,5\n"
    upload = upload_bytes(store, data, name="orders.csv")
    upload_process(upload_id=upload.pk)
    client.force_login(analyst)
    shown = page(client, upload)
    assert "New orders" in shown and "Days and channels added" not in shown


def test_the_api_gives_the_counts(client, analyst, store):
    load_traffic(store, FIRST, "day.csv")
    second = load_traffic(store, SECOND, "day-again.csv")
    client.force_login(analyst)
    body = client.get(reverse("stores:api_upload_detail", kwargs={"upload_id": second.pk})).json()
    assert (body["kind"], body["traffic_created"], body["traffic_updated"]) == ("traffic", 1, 3)


def test_ingest_command_adds_the_counts_for_traffic_only(store, tmp_path):
    def ingest(path: Path, *args: str) -> dict:
        out = io.StringIO()
        call_command("ingest", str(path), "--store", store.slug, *args, stdout=out)
        return json.loads(out.getvalue().strip().splitlines()[-1])

    (tmp_path / "day.csv").write_text(FIRST)
    (tmp_path / "again.csv").write_text(SECOND)
    first = ingest(tmp_path / "day.csv", "--kind", "traffic")
    assert (first["status"], first["traffic_created"], first["traffic_updated"]) == ("loaded", 3, 0)
    second = ingest(tmp_path / "again.csv", "--kind", "traffic")
    assert (second["traffic_created"], second["traffic_updated"]) == (1, 3)
    (tmp_path / "orders.csv").write_bytes(
        b"order_id,placed_at,status,amount\nO1,2025-03-01 10:00,paid,5\n"
    )
    orders = ingest(tmp_path / "orders.csv")
    assert orders["status"] == "loaded"
    assert "traffic_created" not in orders and "traffic_updated" not in orders


def test_the_orm_loader_counts_the_same(store, tmp_path):
    """The SQLite path's loader (bulk ORM writes), here on PostgreSQL."""

    def apply(text: str, name: str):
        upload = upload_bytes(store, text.encode(), name=name, kind="traffic")
        stager = load_orm.OrmStager()
        report = ReportWriter(tmp_path / f"{name}.report.csv")
        read_and_stage(path=Path(upload.file.path), tz=store.timezone, kind="traffic", stager=stager,
                       report=report)
        report.close()
        load_orm.lock_store(store)
        return load_orm.apply(stager=stager, store=store, upload=upload)

    first = apply(FIRST, "day.csv")
    assert (first.traffic_created, first.traffic_updated) == (3, 0)
    second = apply(SECOND, "again.csv")
    assert (second.traffic_created, second.traffic_updated) == (1, 3)


def test_the_upload_list_shows_each_uploads_own_counts(client, analyst, store):
    load_traffic(store, FIRST, "day.csv")
    load_traffic(store, SECOND, "day-again.csv")
    client.force_login(analyst)
    listing = client.get(reverse("stores:upload_list", kwargs={"slug": store.slug})).content.decode()
    rows = {name: listing.split(name, 1)[1].split("</tr>", 1)[0] for name in ("day-again.csv", "day.csv")}
    cells = {name: [c.split("<", 1)[0] for c in row.split('<td class="num">')[1:]] for name, row in rows.items()}
    # rows read, loaded, rejected, added, updated or replaced
    assert cells["day.csv"][3:5] == ["3", "0"]
    assert cells["day-again.csv"][3:5] == ["1", "3"]
