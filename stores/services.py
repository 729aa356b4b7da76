"""Writes about stores' data: uploads.

``upload_create`` saves the file and enqueues processing once the
transaction commits; an analyst's column mapping or a re-read of the dates
queue it again. Processing itself (``upload_process``, the Celery task's
body) is in ``stores.upload_loading``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation

from stores.ingest import load_postgres
from stores.ingest.formats import BY_KEY
from stores.ingest.selectors import upload_reread_refusal
from stores.models import ColumnMapping, DateOrder, Store, Upload, UploadKind, UploadStatus
from stores.upload_loading import OPEN_STATUSES, header_key, is_postgres

logger = logging.getLogger(__name__)


def file_checksum(file: File) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for block in file.chunks():
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()


def upload_create(
    *,
    store: Store,
    file: File,
    name: str,
    kind: str = UploadKind.ORDERS,
    format_key: str = "auto",
    traffic_date: date | None = None,
    column_mapping: Mapping[str, str] | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    enqueue: bool = True,
) -> Upload:
    """Keep the file, record the upload, and process it after commit."""
    upload = Upload(
        store=store,
        kind=kind,
        format="" if format_key == "auto" else format_key,
        column_mapping=dict(column_mapping or {}),
        original_name=Path(name).name[:255],
        checksum=file_checksum(file),
        traffic_date=traffic_date,
        uploaded_by=user if isinstance(user, User) else None,
        language=translation.get_language() or "",
    )
    upload.file.save(Path(name).name, file, save=False)
    upload.save()
    if enqueue:
        upload_enqueue(upload=upload)
    return upload


class NothingToReread(Exception):
    """The upload read no dates such as 05/03/2025 by an order it assumed."""


def upload_reread_dates(*, upload: Upload, user: AbstractBaseUser | AnonymousUser | None = None) -> Upload:
    """Read a loaded file's dates such as 05/03/2025 the other way round.

    The store takes the other order (its later files that do not say are read
    that way too), and a copy of the file is uploaded again, as it was
    uploaded before; the earlier upload and its file stay. Loading it updates
    the orders it lists: ``_loaded_twin`` no longer takes the earlier upload
    for the same file, its dates having been read in the order now refused.
    """
    upload = Upload.objects.select_related("store").get(pk=upload.pk)
    refusal = upload_reread_refusal(upload=upload)
    if refusal:
        raise NothingToReread(refusal)
    other = DateOrder.of(not DateOrder(upload.date_order_assumed).day_first).value
    store = upload.store
    with transaction.atomic():
        Store.objects.filter(pk=store.pk).update(date_order=other)
        store.date_order = other
        logger.info("store %s: dates are written %s (upload %s read again)", store.pk, other, upload.pk)
        # A copy, not the same stored file: each upload keeps a file of its own.
        with upload.file.open("rb") as fh:
            return upload_create(
                store=store,
                file=File(fh),
                name=upload.original_name,
                kind=upload.kind,
                # The format the file was read as; "mapped" is not one to ask
                # for: the store's saved mapping for its header is found again.
                format_key=upload.format if upload.format in BY_KEY else "auto",
                traffic_date=upload.traffic_date,
                column_mapping=upload.column_mapping,
                user=user,
            )


def upload_enqueue(*, upload: Upload) -> None:
    _enqueue(upload.pk)


def _enqueue(upload_id: int) -> None:
    """Process the upload once the transaction commits."""
    from stores.tasks import upload_process_task

    transaction.on_commit(partial(upload_process_task.delay, upload_id))


def column_mapping_save(
    *, upload: Upload, mapping: Mapping[str, str], user: AbstractBaseUser | None = None
) -> Upload:
    """Save the analyst's mapping for this header and process the upload with it."""
    clean = {k: v for k, v in mapping.items() if v}
    with transaction.atomic():
        ColumnMapping.objects.update_or_create(
            store=upload.store,
            kind=upload.kind,
            header_key=header_key(list(upload.columns)),
            defaults={"columns": list(upload.columns), "mapping": clean, "created_by": user},
        )
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.PENDING, column_mapping=clean, error="", error_code="",
            rows_done=0,
        )
        upload.refresh_from_db()
        upload_enqueue(upload=upload)
    return upload


def upload_fail(*, upload_id: int, message: str) -> None:
    """The task gave up (retries exhausted): say so instead of 'loading' forever."""
    Upload.objects.filter(pk=upload_id, status__in=OPEN_STATUSES).update(
        status=UploadStatus.FAILED, error=message[:2000], finished_at=timezone.now()
    )


def uploads_requeue_stale(*, older_than: timedelta = timedelta(minutes=10)) -> list[int]:
    """Enqueue again the uploads left open by a crashed worker (nobody holds
    their claim). A killed worker's task is redelivered by the broker only
    after its visibility timeout; this brings that forward."""
    cutoff = timezone.now() - older_than
    ids = list(
        Upload.objects.filter(status__in=OPEN_STATUSES, created_at__lte=cutoff).values_list("pk", flat=True)
    )
    if is_postgres():
        ids = [pk for pk in ids if not load_postgres.upload_claimed_elsewhere(pk)]
    for pk in ids:
        _enqueue(pk)
    return ids
