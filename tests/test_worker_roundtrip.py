"""The production path end to end: a real Celery worker process takes a task
from Redis, works on PostgreSQL, and its result lands in the database."""

from __future__ import annotations

import time

import pytest
from django.core.files.base import ContentFile

from stores.models import Order, SalesDaily, Upload, UploadStatus
from stores.services import upload_create
from stores.tasks import upload_process_task
from tests.workers import running_workers

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

CSV = (
    "order_id,customer_id,placed_at,paid_at,status,amount,items\n"
    "R-1,c-1,2025-06-18 10:00:00,2025-06-18 10:01:00,paid,120.50,2\n"
    "R-2,c-2,2025-06-18 11:00:00,,unpaid,80.00,1\n"
)


def test_a_real_worker_loads_an_upload_sent_through_redis(transactional_db, store, tmp_path):
    upload = upload_create(store=store, file=ContentFile(CSV.encode()), name="orders.csv",
                           enqueue=False)
    with running_workers(tmp_path) as workers:
        result = upload_process_task.delay(upload.pk)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            upload.refresh_from_db()
            if upload.status not in {UploadStatus.PENDING, UploadStatus.RUNNING}:
                break
            time.sleep(0.1)
        log = workers[0].log()
    assert upload.status == UploadStatus.LOADED, log[-3000:]
    # The worker, not this process, ran it: its log names the task.
    assert result.id in log
    assert Upload.objects.get(pk=upload.pk).rows_loaded == 2
    assert set(Order.objects.filter(store=store).values_list("external_id", flat=True)) == {"R-1", "R-2"}
    assert SalesDaily.objects.filter(store=store).count() == 1
