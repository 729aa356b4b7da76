"""The production path with real Celery worker processes and Redis.

Each test is a few seconds: workers start, a file of a few hundred thousand
lines loads. Nothing here asserts a duration; the tests wait for states.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files import File
from django.db import connection

from stores.ingest.load_postgres import LOCK_STORE
from stores.models import Order, OrderLine, Upload, UploadStatus
from stores.services import upload_create, uploads_requeue_stale
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import generic_orders_csv
from tests.workers import Worker, running_workers

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

DONE = {UploadStatus.LOADED, UploadStatus.REJECTED, UploadStatus.DUPLICATE, UploadStatus.FAILED}


def wait_for(predicate, *, timeout: float = 120, what: str = "condition", workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    logs = "\n".join(w.log()[-3000:] for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def status(upload_id: int) -> Upload:
    return Upload.objects.get(pk=upload_id)


def create(store, path, name=None):
    with path.open("rb") as fh:
        return upload_create(store=store, file=File(fh), name=name or path.name, kind="orders")


def test_killed_worker_mid_load_then_retry_loads_exactly_once(transactional_db, tmp_path, store):
    path = generic_orders_csv(tmp_path / "big.csv", orders=40_000)
    with running_workers(tmp_path, count=1) as workers:
        upload = create(store, path)
        wait_for(
            lambda: status(upload.pk).status == UploadStatus.RUNNING and status(upload.pk).rows_done > 0,
            what="the load to be under way", workers=workers,
        )
        workers[0].kill()
        # Killed inside the load: the transaction died with it.
        assert status(upload.pk).status == UploadStatus.RUNNING
        assert Order.objects.filter(store=store).count() == 0
        replacement = Worker(workers[0].queue, tmp_path / "replacement.log")
        workers.append(replacement)
        replacement.start()
        # The broker would redeliver after its visibility timeout; the sweeper does it now.
        assert uploads_requeue_stale(older_than=timedelta(0)) == [upload.pk]
        wait_for(lambda: status(upload.pk).status in DONE, what="the retry", workers=workers)
    done = status(upload.pk)
    assert done.status == UploadStatus.LOADED, done.error
    assert done.attempts == 2
    assert (done.orders_created, done.rows_loaded) == (40_000, 80_000)
    assert Order.objects.filter(store=store).count() == 40_000
    assert OrderLine.objects.filter(order__store=store).count() == 80_000


def test_lost_database_connection_is_retried_and_loads_once(transactional_db, tmp_path, store):
    path = generic_orders_csv(tmp_path / "big.csv", orders=40_000)
    with running_workers(tmp_path, count=1) as workers:
        upload = create(store, path)
        wait_for(
            lambda: status(upload.pk).status == UploadStatus.RUNNING and status(upload.pk).rows_done > 0,
            what="the load to be under way", workers=workers,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall()
        wait_for(lambda: status(upload.pk).status in DONE, what="the retry", workers=workers)
        log = workers[0].log()
    done = status(upload.pk)
    assert done.status == UploadStatus.LOADED, done.error
    assert done.attempts == 2
    assert "Retry in" in log
    assert Order.objects.filter(store=store).count() == 40_000


def test_validation_failure_is_never_retried(transactional_db, tmp_path, store):
    path = tmp_path / "bad.csv"
    path.write_text("order_id,placed_at,status,amount\n" + "".join(f"O{i},2025-01-01,paid,x\n" for i in range(50)))
    with running_workers(tmp_path, count=1) as workers:
        upload = create(store, path)
        wait_for(lambda: status(upload.pk).status in DONE, what="the rejection", workers=workers)
        log = workers[0].log()
    done = status(upload.pk)
    assert (done.status, done.error_code, done.attempts) == (UploadStatus.REJECTED, "too_many_bad_rows", 1)
    assert "Retry in" not in log


def test_overlapping_uploads_on_two_workers_end_as_if_serial(transactional_db, tmp_path, store):
    first = generic_orders_csv(tmp_path / "monday.csv", orders=20_000, start=0, status="unpaid")
    second = generic_orders_csv(tmp_path / "tuesday.csv", orders=20_000, start=10_000, status="paid")
    with running_workers(tmp_path, count=2) as workers:
        a = create(store, first)
        b = create(store, second)
        wait_for(lambda: status(a.pk).status in DONE and status(b.pk).status in DONE, what="both loads", workers=workers)
    a, b = status(a.pk), status(b.pk)
    assert a.status == b.status == UploadStatus.LOADED, (a.error, b.error)
    assert Order.objects.filter(store=store).count() == 30_000
    assert a.orders_created + b.orders_created == 30_000
    earlier, later = sorted([a, b], key=lambda u: u.finished_at)
    assert (earlier.orders_created, earlier.orders_updated) == (20_000, 0)
    assert (later.orders_created, later.orders_updated) == (10_000, 10_000)
    # The overlap carries the status of whichever file was loaded last.
    overlap = Order.objects.filter(store=store, external_id__in=[f"O{i}" for i in range(10_000, 10_100)])
    expected = "paid" if later.pk == b.pk else "unpaid"
    assert set(overlap.values_list("status", flat=True)) == {expected}
    assert OrderLine.objects.filter(order__store=store).count() == 60_000


def test_a_busy_store_does_not_hold_up_another(transactional_db, tmp_path, store):
    busy, free = store, StoreFactory(slug="east", timezone="Asia/Shanghai")
    with connection.cursor() as cursor:
        # Stand in for a long load into the busy store: hold its store lock.
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_STORE, busy.pk])
        try:
            with running_workers(tmp_path, count=2) as workers:
                waiting = create(busy, generic_orders_csv(tmp_path / "busy.csv", orders=100))
                other = create(free, generic_orders_csv(tmp_path / "free.csv", orders=100))
                wait_for(lambda: status(other.pk).status in DONE, what="the free store", workers=workers)
                assert status(other.pk).status == UploadStatus.LOADED
                assert status(waiting.pk).status == UploadStatus.RUNNING
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_STORE, busy.pk])
                wait_for(lambda: status(waiting.pk).status in DONE, what="the busy store", workers=workers)
        finally:
            cursor.execute("SELECT pg_advisory_unlock_all()")
    assert status(waiting.pk).status == UploadStatus.LOADED
    assert Order.objects.filter(store=busy).count() == 100
