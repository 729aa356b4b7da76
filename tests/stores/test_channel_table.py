"""The channels page: a store's analysts and managers see the names their
uploads met that no rule knew, put them in channels, and a file loaded
again takes the new channels without counting anything twice."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from stores.models import ChannelMapping, Order, Store, TrafficDaily, Upload, UploadStatus
from stores.upload_loading import upload_process
from tests.stores.ingest.helpers import upload_bytes

pytestmark = pytest.mark.django_db

# 好货 and 猜你喜欢 are names no built-in rule knows: both count as other.
TRAFFIC = ("date,channel,visitors,page_views\n"
           "2025-03-01,直通车,1000,3000\n2025-03-01,好货,400,900\n2025-03-01,猜你喜欢,300,600\n"
           "2025-03-02,直通车,900,2000\n2025-03-02,好货,500,800\n")
ORDERS = ("order_id,placed_at,status,amount,channel\n"
          "A1,2025-03-01 10:00,paid,10,好货\nA2,2025-03-01 11:00,paid,20,直通车\n")


def load(store: Store, text: str, name: str, kind: str) -> Upload:
    upload = upload_bytes(store, text.encode(), name=name, kind=kind)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def url(store: Store) -> str:
    return reverse("stores:channel_table", kwargs={"slug": store.slug})


def post_rows(client, store: Store, rows: list[tuple[str, str]]):
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": "0"}
    for i, (name, channel) in enumerate(rows):
        data[f"form-{i}-name"], data[f"form-{i}-channel"] = name, channel
    return client.post(url(store), data)


def visitors(store: Store, day: date) -> dict[str, int]:
    return dict(TrafficDaily.objects.filter(store=store, date=day).values_list("channel", "visitors"))


def test_unknown_names_are_kept_shown_mapped_and_taken_by_a_file_loaded_again(client, analyst, store):
    first = load(store, TRAFFIC, "traffic.csv", "traffic")
    assert first.status == UploadStatus.LOADED, first.error
    assert first.unknown_channels == {"好货": 2, "猜你喜欢": 1}
    assert visitors(store, date(2025, 3, 1)) == {"search": 1000, "other": 700}
    client.force_login(analyst)
    detail = client.get(reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": first.pk}))
    assert "unknown-channels-note" in detail.content.decode() and url(store) in detail.content.decode()
    page = client.get(url(store)).content.decode()
    assert page.index("好货") < page.index("猜你喜欢")  # most rows first

    response = post_rows(client, store, [("好货", "community"), ("猜你喜欢", ""), ("", "")])
    assert response.status_code == 302
    assert dict(ChannelMapping.objects.filter(store=store).values_list("source_name", "channel")) == {
        "好货": "community"}
    page = client.get(url(store)).content.decode()
    assert 'class="own"' in page and page.count('class="unknown"') == 1  # 猜你喜欢 is still unknown

    again = load(store, TRAFFIC, "traffic.csv", "traffic")  # the same file: not a duplicate now
    assert again.status == UploadStatus.LOADED, again.error
    assert again.unknown_channels == {"猜你喜欢": 1}
    assert visitors(store, date(2025, 3, 1)) == {"search": 1000, "community": 400, "other": 300}
    # 2 March had only 好货 as other: that figure moved, it is not kept twice.
    assert visitors(store, date(2025, 3, 2)) == {"search": 900, "community": 500}
    assert load(store, TRAFFIC, "traffic.csv", "traffic").status == UploadStatus.DUPLICATE


def test_orders_loaded_again_take_their_new_channel(client, manager, store):
    load(store, ORDERS, "orders.csv", "orders")
    assert Order.objects.get(store=store, external_id="A1").channel == "other"
    client.force_login(manager)
    assert post_rows(client, store, [("好货", "activity")]).status_code == 302
    again = load(store, ORDERS, "orders.csv", "orders")
    assert (again.status, again.orders_updated) == (UploadStatus.LOADED, 1)
    assert Order.objects.get(store=store, external_id="A1").channel == "activity"


def test_a_blank_channel_gives_the_name_back_to_the_rules(client, analyst, store):
    ChannelMapping.objects.create(store=store, source_name="好货", channel="ads")
    client.force_login(analyst)
    post_rows(client, store, [("好货", "")])
    assert not ChannelMapping.objects.filter(store=store).exists()


@pytest.mark.parametrize("who", ["outsider", "operator", None])
def test_the_page_is_refused_to_all_but_the_stores_analysts_and_managers(client, request, store, who):
    ChannelMapping.objects.create(store=store, source_name="好货", channel="ads")
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(url(store)).status_code in ((404,) if who else (302,))
    post_rows(client, store, [("好货", "community")])
    assert ChannelMapping.objects.get(store=store).channel == "ads"
