"""An upload whose dates such as 05/03/2025 were read in an assumed order can
be read the other way from its page (or the API) by whoever may upload to the
store: the store takes the other order and a copy of the file loads again as
a new upload, correcting its orders' dates; the first upload and its file stay."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse

from stores.models import DateOrder, Order, Store, Upload, UploadStatus
from stores.services import NothingToReread, column_mapping_save, upload_reread_dates
from stores.upload_loading import upload_process
from tests.stores.ingest.helpers import load_bytes as load
from tests.stores.ingest.helpers import paid_orders_csv as orders_csv
from tests.stores.ingest.helpers import upload_bytes

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")






def placed(store: Store, external_id: str = "D0") -> datetime:
    return Order.objects.get(store=store, external_id=external_id).placed_at.astimezone(SHANGHAI)


def page_url(upload: Upload) -> str:
    return reverse("stores:upload_detail", kwargs={"slug": upload.store.slug, "upload_id": upload.pk})


def reread_url(upload: Upload) -> str:
    return reverse("stores:upload_reread_dates", kwargs={"slug": upload.store.slug, "upload_id": upload.pk})


def api_url(upload: Upload) -> str:
    return reverse("stores:api_upload_reread_dates", kwargs={"upload_id": upload.pk})


@pytest.fixture
def month_first(store: Store) -> Upload:
    """A daily file whose every date is ambiguous, read month first by the rule."""
    upload = load(store, orders_csv("05/03/2025 10:00", "04/02/2025 11:30"))
    assert upload.status == UploadStatus.LOADED, upload.error
    assert (upload.date_order_assumed, upload.date_order_source) == ("mdy", "rule")
    assert placed(store, "D0") == datetime(2025, 5, 3, 10, 0, tzinfo=SHANGHAI)
    return upload


@pytest.mark.parametrize("who", ["analyst", "manager"])
def test_an_uploader_reads_the_dates_day_first_from_the_page(
    client, request, store, month_first, who, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    page = client.get(page_url(month_first)).content.decode()
    assert f'action="{reread_url(month_first)}"' in page
    assert "Read them day first instead" in page and "Read them month first instead" not in page
    assert "upload the file again" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reread_url(month_first))

    again = Upload.objects.exclude(pk=month_first.pk).get(store=store)
    assert response.status_code == 302
    assert response["Location"] == page_url(again)
    store.refresh_from_db()
    assert store.date_order == DateOrder.DMY
    assert again.status == UploadStatus.LOADED, again.error
    assert (again.orders_created, again.orders_updated) == (0, 2)
    assert (again.date_order_assumed, again.date_order_source) == ("dmy", "store")
    assert (again.kind, again.original_name, again.checksum) == ("orders", "daily.csv", month_first.checksum)
    assert again.uploaded_by == user
    assert placed(store, "D0") == datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)
    assert placed(store, "D1") == datetime(2025, 2, 4, 11, 30, tzinfo=SHANGHAI)
    assert Order.objects.filter(store=store).count() == 2

    # The first upload is still there, loaded, with its own file intact.
    month_first.refresh_from_db()
    assert month_first.status == UploadStatus.LOADED
    assert again.file.name != month_first.file.name
    with month_first.file.open("rb") as fh:
        assert fh.read() == orders_csv("05/03/2025 10:00", "04/02/2025 11:30")

    # The new upload's page offers the way back.
    new_page = client.get(response["Location"]).content.decode()
    assert "Read them month first instead" in new_page
    assert "Dates such as 05/03/2025 were read day first (5 March)" in new_page


def test_a_file_with_a_later_one_loaded_since_is_not_read_again(
    client, analyst, store, month_first, django_capture_on_commit_callbacks
):
    """Loading an older file again would put back the statuses and amounts a
    later file changed: once another file is loaded (here the re-read copy
    itself), the first page offers no button and a post is refused."""
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reread_url(month_first))
    again = Upload.objects.exclude(pk=month_first.pk).get(store=store)
    assert again.status == UploadStatus.LOADED
    page = client.get(page_url(month_first)).content.decode()
    assert "Read them" not in page and "A later file has been loaded since" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reread_url(month_first))
    assert response.status_code == 400 and "A later file of this kind" in response.content.decode()
    assert Upload.objects.filter(store=store).count() == 2
    assert Store.objects.get(pk=store.pk).date_order == DateOrder.DMY
    assert placed(store, "D0") == datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)


def test_the_form_needs_its_csrf_token(store, analyst, month_first):
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.post(reread_url(month_first)).status_code == 403
    page = client.get(page_url(month_first)).content.decode()
    token = re.search(r'id="date-order-reread">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"',
                      page)
    assert token is not None
    response = client.post(reread_url(month_first), {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.date_order == DateOrder.DMY


@pytest.mark.parametrize("who", ["outsider", "operator"])
def test_others_get_404_and_nothing_changes(client, request, store, month_first, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(reread_url(month_first)).status_code == 404
    assert client.post(api_url(month_first)).status_code == 404
    store.refresh_from_db()
    assert store.date_order == ""
    assert list(Upload.objects.filter(store=store)) == [month_first]


def test_a_get_is_a_404_even_for_an_uploader(client, analyst, store, month_first):
    client.force_login(analyst)
    assert client.get(reread_url(month_first)).status_code == 404
    store.refresh_from_db()
    assert store.date_order == ""
    assert Upload.objects.filter(store=store).count() == 1


def test_the_wrong_store_in_the_address_is_a_404(client, analyst, store, other_store, month_first):
    client.force_login(analyst)
    url = reverse("stores:upload_reread_dates", kwargs={"slug": other_store.slug, "upload_id": month_first.pk})
    assert client.post(url).status_code == 404
    assert Upload.objects.filter(store=store).count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, month_first):
    response = client.post(reread_url(month_first))
    assert response.status_code == 302 and "login" in response["Location"]
    assert Upload.objects.count() == 1


def test_an_upload_that_assumed_nothing_cannot_be_read_again(client, analyst, store):
    upload = load(store, orders_csv("13/03/2025 10:00"))
    assert upload.status == UploadStatus.LOADED and upload.date_order_assumed == ""
    client.force_login(analyst)
    assert 'id="date-order-reread"' not in client.get(page_url(upload)).content.decode()
    response = client.post(reread_url(upload))
    assert response.status_code == 400
    assert "nothing to read the other way" in response.content.decode()
    api = client.post(api_url(upload))
    assert api.status_code == 400 and "nothing to read the other way" in api.json()["detail"]
    with pytest.raises(NothingToReread):
        upload_reread_dates(upload=upload)
    store.refresh_from_db()
    assert store.date_order == DateOrder.DMY  # learnt from the file, untouched since
    assert Upload.objects.filter(store=store).count() == 1


def test_the_api_reads_them_the_other_way(client, analyst, store, month_first, django_capture_on_commit_callbacks):
    client.force_login(analyst)
    assert client.get(api_url(month_first)).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(api_url(month_first))
    assert response.status_code == 202
    body = response.json()
    assert body["id"] != month_first.pk and body["original_name"] == "daily.csv"
    status = client.get(body["url"]).json()
    assert (status["status"], status["orders_updated"], status["date_order_assumed"]) == ("loaded", 2, "dmy")
    store.refresh_from_db()
    assert store.date_order == DateOrder.DMY
    assert placed(store, "D0") == datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)


def test_a_file_read_through_the_stores_saved_mapping_is_read_again_with_it(store):
    """The second file of a hand-mapped header is read by the saved mapping
    (its format is "mapped", which no one can ask for): the copy finds it again."""
    header = "Invoice,When,Total\n"
    first = upload_bytes(store, (header + "I1,2025-03-01 10:00,5\n").encode(), name="shop.csv")
    upload_process(upload_id=first.pk)
    first.refresh_from_db()
    assert first.status == UploadStatus.NEEDS_MAPPING
    column_mapping_save(upload=first, mapping={"order_id": "Invoice", "placed_at": "When", "amount": "Total"})
    upload_process(upload_id=first.pk)
    daily = load(store, (header + "I2,05/03/2025 10:00,7\n").encode(), name="shop-daily.csv")
    assert (daily.status, daily.format, daily.column_mapping) == (UploadStatus.LOADED, "mapped", {})
    assert placed(store, "I2") == datetime(2025, 5, 3, 10, 0, tzinfo=SHANGHAI)

    again = upload_reread_dates(upload=daily)
    assert again.format == ""
    upload_process(upload_id=again.pk)
    again.refresh_from_db()
    assert again.status == UploadStatus.LOADED, again.error
    assert placed(store, "I2") == datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)


def test_a_hand_mapping_and_the_format_go_with_the_copy(store):
    data = b"Invoice,When,Total\nI1,05/03/2025 10:00,5\n"
    upload = upload_bytes(store, data, name="shop.csv")
    mapping = {"order_id": "Invoice", "placed_at": "When", "amount": "Total"}
    column_mapping_save(upload=upload, mapping=mapping)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED and upload.date_order_assumed == "mdy"
    again = upload_reread_dates(upload=upload)
    assert again.column_mapping == mapping
    upload_process(upload_id=again.pk)
    assert placed(store, "I1") == datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)

    generic = load(store, orders_csv("06/03/2025 09:00").replace(b"D0", b"G0"), name="generic.csv")
    assert (generic.format, generic.date_order_assumed) == ("generic", "dmy")
    back = upload_reread_dates(upload=generic)
    assert (back.format, back.kind) == ("generic", "orders")
    store.refresh_from_db()
    assert store.date_order == DateOrder.MDY


def test_the_note_and_button_are_translated(client, analyst, store, month_first):
    client.force_login(analyst)
    page = client.get(page_url(month_first), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "改为按日在前读取" in page
