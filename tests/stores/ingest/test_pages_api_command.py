"""The three ways in: the upload page, the JSON API, and ``manage.py ingest``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from stores.models import Order, Upload, UploadStatus
from tests.stores.ingest.helpers import FIXTURES, load, selling_in_euros

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def shopify_file(store=None) -> SimpleUploadedFile:
    """The Shopify fixture, an export in euros; ``store`` is set to sell in them."""
    if store is not None:
        selling_in_euros(store)
    return SimpleUploadedFile("orders_export.csv", (FIXTURES / "shopify_orders_export.csv").read_bytes())


def test_analyst_uploads_through_the_page_and_sees_the_result(client, analyst, store, django_capture_on_commit_callbacks):
    client.force_login(analyst)
    url = reverse("stores:upload_list", kwargs={"slug": store.slug})
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"file": shopify_file(store), "kind": "orders", "format": "auto"})
    upload = Upload.objects.get(store=store)
    assert response.status_code == 302
    assert response["Location"] == reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": upload.pk})
    assert upload.status == UploadStatus.LOADED and upload.uploaded_by == analyst
    page = client.get(response["Location"]).content.decode()
    assert "Loaded" in page and "orders_export.csv" in page
    history = client.get(url).content.decode()
    assert f'data-upload="{upload.pk}"' in history


def test_page_shows_rejected_rows_and_serves_the_report(client, manager, store):
    data = b"order_id,placed_at,status,amount\n" + b"".join(b"O%d,2025-01-01,paid,%s\n" % (i, b"x" if i == 3 else b"1") for i in range(40))
    upload = load(store, _tmp(data, "few-bad.csv"))
    client.force_login(manager)
    page = client.get(reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": upload.pk})).content.decode()
    assert "not an amount of money" in page
    report = client.get(reverse("stores:upload_report", kwargs={"slug": store.slug, "upload_id": upload.pk}))
    assert report.status_code == 200
    assert b"5,amount,not an amount of money,x" in b"".join(report.streaming_content)


def test_mapping_form_on_the_page(client, analyst, store, django_capture_on_commit_callbacks):
    upload = load(store, _tmp(b"Invoice,When,Total\nI1,2025-03-01 10:00,5\n", "shop.csv"))
    assert upload.status == UploadStatus.NEEDS_MAPPING
    client.force_login(analyst)
    url = reverse("stores:upload_detail", kwargs={"slug": store.slug, "upload_id": upload.pk})
    assert 'name="order_id"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"order_id": "Invoice", "placed_at": "When", "amount": "Total"})
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED
    assert Order.objects.filter(store=store, external_id="I1").exists()


@pytest.mark.parametrize("who", ["outsider", "operator"])
def test_outsiders_and_operators_get_404_everywhere(client, request, store, who):
    user = request.getfixturevalue(who)
    upload = load(store, FIXTURES / "generic_orders.csv")
    client.force_login(user)
    detail = {"slug": store.slug, "upload_id": upload.pk}
    assert client.get(reverse("stores:upload_list", kwargs={"slug": store.slug})).status_code == 404
    assert client.post(reverse("stores:upload_list", kwargs={"slug": store.slug}), {"file": shopify_file(), "kind": "orders", "format": "auto"}).status_code == 404
    assert client.get(reverse("stores:upload_detail", kwargs=detail)).status_code == 404
    assert client.get(reverse("stores:upload_report", kwargs=detail)).status_code == 404
    assert client.post(reverse("stores:api_upload_create", kwargs={"slug": store.slug}), {"file": shopify_file()}).status_code == 404
    assert client.get(reverse("stores:api_upload_detail", kwargs={"upload_id": upload.pk})).status_code == 404
    assert Upload.objects.filter(store=store).count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, store):
    assert client.get(reverse("stores:upload_list", kwargs={"slug": store.slug})).status_code == 302
    assert client.post(reverse("stores:api_upload_create", kwargs={"slug": store.slug})).status_code == 403


def test_api_upload_then_status(client, analyst, store, django_capture_on_commit_callbacks):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("stores:api_upload_create", kwargs={"slug": store.slug}), {"file": shopify_file(store), "kind": "orders"})
    assert response.status_code == 202
    body = response.json()
    status = client.get(body["url"]).json()
    assert status["status"] == "loaded"
    assert (status["rows_read"], status["orders_created"], status["duplicate_file"]) == (6, 5, False)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("stores:api_upload_create", kwargs={"slug": store.slug}), {"file": shopify_file()})
    assert client.get(again.json()["url"]).json()["duplicate_file"] is True
    assert Order.objects.filter(store=store).count() == 5


def test_api_rejects_a_bad_request(client, analyst, store):
    client.force_login(analyst)
    response = client.post(reverse("stores:api_upload_create", kwargs={"slug": store.slug}), {"kind": "orders"})
    assert response.status_code == 400 and "file" in response.json()


def test_ingest_command_prints_a_final_json_line(store):
    out = io.StringIO()
    call_command("ingest", str(FIXTURES / "tmall_suborders.csv"), "--store", store.slug, "--format", "tmall_lines", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["status"] == "loaded"
    assert (result["rows_read"], result["rows_loaded"], result["orders_created"], result["duplicate_file"]) == (4, 4, 3, False)
    out = io.StringIO()
    call_command("ingest", str(FIXTURES / "tmall_suborders.csv"), "--store", store.slug, stdout=out)
    again = json.loads(out.getvalue().strip().splitlines()[-1])
    assert again["status"] == "duplicate" and again["duplicate_file"] is True
    assert Order.objects.filter(store=store).count() == 3


def _tmp(data: bytes, name: str):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    path = folder / name
    path.write_bytes(data)
    return path



def test_an_unexpected_error_fails_the_upload_instead_of_leaving_it_running(store):
    """Not a validation failure, not a lost database: the kept file is gone
    from storage. The task run in-process (as the ingest command and the demo
    run it; Celery skips on_failure there) must still end the upload as
    failed, saying why, and not retry."""
    from django.core.files import File

    from stores.services import upload_create
    from stores.tasks import upload_process_task

    with (FIXTURES / "tmall_suborders.csv").open("rb") as fh:
        upload = upload_create(store=store, file=File(fh), name="sub.csv", enqueue=False)
    upload.file.storage.delete(upload.file.name)
    with pytest.raises(FileNotFoundError):
        upload_process_task.apply(args=(upload.pk,)).get()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "FileNotFoundError" in upload.error and upload.finished_at is not None
    assert not Order.objects.filter(store=store).exists()


def test_reasons_are_written_in_the_uploaders_language(client, analyst, store, django_capture_on_commit_callbacks):
    """The worker stores the rejected rows' reasons as text: a Chinese
    analyst's upload gets them in Chinese, whatever language the worker runs in."""
    client.force_login(analyst)
    data = b"order_id,placed_at,status,amount\n" + b"".join(
        b"O%d,%s,paid,1\n" % (i, b"soon" if i == 3 else b"2025-01-01") for i in range(40)
    )
    url = reverse("stores:upload_list", kwargs={"slug": store.slug})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"file": SimpleUploadedFile("zh.csv", data), "kind": "orders", "format": "auto"},
                    HTTP_ACCEPT_LANGUAGE="zh-hans")
    upload = Upload.objects.get(store=store)
    assert upload.language == "zh-hans" and upload.status == UploadStatus.LOADED
    report = upload.error_report.read().decode("utf-8-sig")
    assert "不是有效的日期时间" in report and "not a date and time" not in report
