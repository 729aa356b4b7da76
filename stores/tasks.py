"""Celery tasks: thin, take ids, safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from stores.models import Upload, UploadStatus
from stores.services import upload_fail, uploads_requeue_stale
from stores.services_admin import store_rollups_rebuild
from stores.upload_loading import upload_process

#: Only these mean "try again later": the database or the broker was away.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


def _fail(upload_id: int, exc: BaseException) -> None:
    upload_fail(upload_id=upload_id, message=f"{type(exc).__name__}: {exc}")


class UploadTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        upload_id = args[0] if args else kwargs.get("upload_id")
        if upload_id is not None:
            _fail(int(upload_id), exc)


@shared_task(
    bind=True,
    base=UploadTask,
    name="stores.upload_process",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
def upload_process_task(self: Task, upload_id: int) -> dict[str, Any]:
    """Load one upload. Validation failures end in the upload's status, never in a retry."""
    try:
        result = upload_process(upload_id=upload_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        # Not worth a retry: say so on the upload now. on_failure would too,
        # but Celery skips it when the task runs in-process and propagates
        # (the ingest command, the demo), and the upload sat "running".
        _fail(upload_id, exc)
        raise
    if result.status == UploadStatus.LOADED:
        # New data: build the store's first pages now rather than on the next
        # visit (by name: the pages belong to kpitree, which depends on us).
        store_id = Upload.objects.values_list("store_id", flat=True).get(pk=upload_id)
        self.app.tasks["kpitree.store_pages_warm"].delay(store_id)
    return result.as_dict()


@shared_task(name="stores.uploads_requeue_stale", acks_late=True, expires=240)
def uploads_requeue_stale_task() -> list[int]:
    """Beat, every five minutes: hand uploads orphaned by a killed worker back
    to the queue instead of waiting for the broker's visibility timeout."""
    return uploads_requeue_stale()


@shared_task(
    name="stores.store_rollups_rebuild",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=6,
)
def store_rollups_rebuild_task(store_id: int) -> bool:
    """A store's time zone or windows changed: its rollups again in full."""
    return store_rollups_rebuild(store_id=store_id)
