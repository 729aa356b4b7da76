"""Processing an upload: the Celery task's body.

``upload_process`` claims the upload, reads and validates the file into
staging, then upserts everything, refreshes the rollups and marks the upload
loaded in one transaction. A store's first import is read straight into the
real tables inside that transaction instead (``load_direct``). The uploads
themselves are created, mapped and re-read in ``stores.services``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from stores.channel_table import channel_table
from stores.ingest import load_direct, load_orm, load_postgres
from stores.ingest.errors import IngestError, NeedsMappingError
from stores.ingest.pipeline import DEFAULT_MAX_BAD_SHARE, ReadResult, ReportWriter, read_and_stage
from stores.ingest.reader import DEFAULT_BLOCK_BYTES
from stores.ingest.results import LoadCounts
from stores.models import (
    ColumnMapping,
    DateOrderSource,
    Store,
    Upload,
    UploadKind,
    UploadStatus,
)
from stores.rollups.spill import SpilledOrders

logger = logging.getLogger(__name__)

OPEN_STATUSES = (UploadStatus.PENDING, UploadStatus.RUNNING)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def header_key(columns: list[str]) -> str:
    return hashlib.sha256("\x1f".join(columns).encode()).hexdigest()


@dataclass(frozen=True)
class UploadResult:
    upload_id: int
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    orders_created: int
    orders_updated: int
    duplicate_file: bool
    error: str
    # The order dates such as 05/03/2025 were read by when the file did not say.
    date_order_assumed: str = ""
    kind: str = UploadKind.ORDERS
    # A traffic file's day-and-channel figures: added, and replacing earlier ones.
    traffic_created: int = 0
    traffic_updated: int = 0

    @classmethod
    def of(cls, upload: Upload) -> UploadResult:
        return cls(
            upload_id=upload.pk,
            status=upload.status,
            rows_read=upload.rows_read,
            rows_loaded=upload.rows_loaded,
            rows_rejected=upload.rows_rejected,
            orders_created=upload.orders_created,
            orders_updated=upload.orders_updated,
            duplicate_file=upload.status == UploadStatus.DUPLICATE,
            error=upload.error,
            date_order_assumed=upload.date_order_assumed,
            kind=upload.kind,
            traffic_created=upload.traffic_created,
            traffic_updated=upload.traffic_updated,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _saved_mapping(store: Store, kind: str, header: list[str]) -> dict[str, str] | None:
    saved = ColumnMapping.objects.filter(store=store, kind=kind, header_key=header_key(header)).first()
    return dict(saved.mapping) if saved else None


def upload_process(*, upload_id: int) -> UploadResult:
    """Claim the upload and load it exactly once; safe to call twice at once.

    The claim is a PostgreSQL session advisory lock (gone with a killed
    worker's connection) plus a conditional status update, so a second
    worker skips an upload that is being loaded, and a retry after a crash
    picks it up again.
    """
    pg = is_postgres()
    if pg and not load_postgres.try_claim_upload(upload_id):
        logger.info("upload %s is being processed elsewhere", upload_id)
        return UploadResult.of(Upload.objects.get(pk=upload_id))
    try:
        claimed = Upload.objects.filter(pk=upload_id, status__in=OPEN_STATUSES).update(
            status=UploadStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            rows_done=0,
        )
        upload = Upload.objects.select_related("store").get(pk=upload_id)
        if not claimed:
            return UploadResult.of(upload)
        # Messages and reasons are stored as text: in the uploader's language.
        with translation.override(upload.language or settings.LANGUAGE_CODE):
            _process(upload, pg=pg)
        upload.refresh_from_db()
        return UploadResult.of(upload)
    finally:
        if pg and connection.is_usable():
            load_postgres.release_upload(upload_id)


def _loaded_twin(upload: Upload) -> Upload | None:
    """The same file, loaded before. One whose dates such as 05/03/2025 were
    read in an order the store now says is wrong is not a twin, nor one
    loaded before the store's channel table changed: loading the file again
    is how its orders get their right dates and channels."""
    twins = Upload.objects.filter(store=upload.store, checksum=upload.checksum, status=UploadStatus.LOADED)
    date_order, channels_changed = Store.objects.values_list("date_order", "channels_changed_at").get(
        pk=upload.store_id)
    if date_order:
        twins = twins.filter(Q(date_order_assumed="") | Q(date_order_assumed=date_order))
    if channels_changed is not None:
        # Loaded before the channel table changed: its names may map elsewhere now.
        twins = twins.filter(finished_at__gte=channels_changed)
    return twins.exclude(pk=upload.pk).order_by("finished_at").first()


def _mark_duplicate(upload: Upload, twin: Upload) -> None:
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.DUPLICATE,
        duplicate_of=twin,
        error=_("This file was already loaded on %(when)s (upload %(id)d): nothing was loaded again.")
        % {"when": timezone.localtime(twin.finished_at or twin.created_at).strftime("%Y-%m-%d %H:%M"), "id": twin.pk},
        finished_at=timezone.now(),
    )


def _process(upload: Upload, *, pg: bool) -> None:
    store = upload.store
    twin = _loaded_twin(upload)
    if twin is not None:
        _mark_duplicate(upload, twin)
        return
    report_name = f"reports/{store.slug}/upload-{upload.pk}-rejected-rows.csv"
    report = ReportWriter(Path(default_storage.path(report_name)))
    progress = _Progress(upload.pk, side_connection=pg)
    load = partial(_read_into, upload, report=report, progress=progress)
    try:
        loaded = False
        if pg and load_direct.store_is_new(store):
            try:
                loaded = _load_first_import(upload, load, report, report_name)
            except load_direct.OrdersScattered:
                logger.info("upload %s lists orders apart: loaded through staging", upload.pk)
                report.reset()
        if not loaded:
            _load_staged(upload, load, report, report_name, pg=pg)
    except NeedsMappingError as exc:
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.NEEDS_MAPPING, columns=exc.columns, error=exc.message,
            error_code=exc.code, finished_at=timezone.now(),
        )
    except IngestError as exc:
        # Nothing reached the real tables; keep the file and the report.
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.REJECTED,
            error=exc.message,
            error_code=exc.code,
            rows_read=exc.rows_read,
            rows_rejected=exc.rows_rejected,
            rows_loaded=0,
            error_report=report_name if report.lines else "",
            finished_at=timezone.now(),
        )
    finally:
        report.close()
        progress.close()


def _read_into(upload: Upload, *, report: ReportWriter, progress: _Progress, stager: Any) -> ReadResult:
    """Read, validate and stage the upload's file into ``stager``; the
    rejected rows are on disk before the upload's status says so."""
    store = upload.store
    try:
        return read_and_stage(
            path=Path(upload.file.path),
            tz=store.timezone,
            kind=upload.kind or None,
            format_key=upload.format or "auto",
            mapping=upload.column_mapping or None,
            saved_mapping=partial(_saved_mapping, store, upload.kind),
            channel_table=channel_table(store=store),
            traffic_date=upload.traffic_date,
            currency=store.currency,
            date_order=store.date_order,
            file_name=upload.original_name,
            stager=stager,
            report=report,
            progress=progress,
            max_bad_share=getattr(settings, "INGEST_MAX_BAD_SHARE", DEFAULT_MAX_BAD_SHARE),
            block_bytes=getattr(settings, "INGEST_BLOCK_BYTES", DEFAULT_BLOCK_BYTES),
        )
    finally:
        report.flush()


def _lock_and_find_twin(loader: Any, upload: Upload) -> bool:
    """Take the store's lock for the transaction; True (and the upload marked
    a duplicate) when the same file was loaded meanwhile."""
    loader.lock_store(upload.store)
    twin = _loaded_twin(upload)
    if twin is not None:
        _mark_duplicate(upload, twin)
    return twin is not None


def _load_first_import(
    upload: Upload, read_into: Callable[..., ReadResult], report: ReportWriter, report_name: str
) -> bool:
    """The store's first data: read straight into the real tables under the
    store's lock (``load_direct``). False when another load got there first."""
    store = upload.store
    started = time.perf_counter()
    with transaction.atomic():
        if _lock_and_find_twin(load_postgres, upload):
            return True
        if not load_direct.store_is_new(store):
            return False
        stager = load_direct.DirectStager(store=store, upload=upload)
        try:
            read = read_into(stager=stager)
            staged = time.perf_counter()
            counts: LoadCounts = load_postgres.apply(stager=stager, store=store, upload=upload)
            # The customers are being written: the rollups are computed from
            # the orders the load kept meanwhile, and written after.
            times = _finish_load(upload, read, counts, report_name if report.lines else "",
                                 spilled=stager.spilled if "orders" in stager.kinds else None,
                                 before_write=stager.wait)
        except BaseException:
            stager.abandon()  # the rollback undoes what it wrote
            raise
        stager.close()
    _log_load(upload, read, started, staged, *times)
    return True


def _load_staged(
    upload: Upload, read_into: Callable[..., ReadResult], report: ReportWriter, report_name: str, *, pg: bool
) -> None:
    """Read into staging outside any transaction (many uploads parse at once),
    then upsert under the store's lock."""
    store = upload.store
    loader: Any = load_postgres if pg else load_orm
    stager = load_postgres.PostgresStager() if pg else load_orm.OrmStager()
    started = time.perf_counter()
    try:
        try:
            read = read_into(stager=stager)
            stager.finish()
        finally:
            # A COPY still running on the stager's thread must end before the
            # connection is used again, whatever happened.
            stager.wait()
        staged = time.perf_counter()
        with transaction.atomic():
            if _lock_and_find_twin(loader, upload):
                return
            counts: LoadCounts = loader.apply(stager=stager, store=store, upload=upload)
            times = _finish_load(upload, read, counts, report_name if report.lines else "")
        _log_load(upload, read, started, staged, *times)
    finally:
        stager.close()


def _finish_load(
    upload: Upload, read: ReadResult, counts: LoadCounts, error_report: str, *,
    spilled: SpilledOrders | None = None, before_write: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Refresh the rollups and mark the upload loaded, in the load's
    transaction; returns when the rollups began and ended. ``spilled``: a
    first import's orders, as it kept them (``rollups_refresh``)."""
    applied = time.perf_counter()
    if counts.rollup_delta is not None:
        from stores.rollups.delta import delta_finish

        delta_finish(counts.rollup_delta)
    elif counts.since is not None:
        from stores.rollups import rollups_refresh
        from stores.rollups.refresh import PART_ORDERS

        # The loaders have set the lifetimes of the customers they touched.
        rollups_refresh(store=upload.store, since=None if spilled else counts.since, lifetimes=False,
                        spilled=spilled, before_write=before_write,
                        # A first import writes its customers meanwhile: smaller parts.
                        part_orders=PART_ORDERS // 2 if spilled else PART_ORDERS)
    elif before_write is not None:
        before_write()
    refreshed = time.perf_counter()
    # The read was handed the store's order as it was then (upload.store): a
    # file that showed none was read that way, or by the rule without one.
    date_order_source = (
        "" if not read.date_order_assumed
        else DateOrderSource.STORE if upload.store.date_order else DateOrderSource.RULE
    )
    _learn_date_order(upload.store, read)
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.LOADED,
        format=read.format_key,
        kind=read.kind,
        columns=read.columns,
        rows_read=read.rows_read,
        rows_done=read.rows_read,
        rows_total=read.rows_read,
        rows_rejected=read.rows_rejected,
        rows_loaded=counts.rows_loaded,
        orders_created=counts.orders_created,
        orders_updated=counts.orders_updated,
        orders_unchanged=counts.orders_unchanged,
        customers_created=counts.customers_created,
        traffic_created=counts.traffic_created,
        traffic_updated=counts.traffic_updated,
        unknown_channels=read.unknown_channels,
        date_order_assumed=read.date_order_assumed,
        date_order_source=date_order_source,
        error_report=error_report,
        error="",
        error_code="",
        finished_at=timezone.now(),
    )
    return applied, refreshed


def _learn_date_order(store: Store, read: ReadResult) -> None:
    """Keep the order a loaded file showed its dates in, for the store's files
    that do not show it. A file showing another order than the store's is the
    newer truth. Called under the store's lock, in the load's transaction."""
    if not read.date_order_settled:
        return
    current = Store.objects.values_list("date_order", flat=True).get(pk=store.pk)
    if read.date_order_settled != current:
        logger.info("store %s: dates are written %s (was %r)", store.pk, read.date_order_settled, current)
        Store.objects.filter(pk=store.pk).update(date_order=read.date_order_settled)


def _log_load(upload: Upload, read: ReadResult, started: float, staged: float, applied: float,
              refreshed: float) -> None:
    """Where the time went (bench/ingest.py reads this line); call after the commit."""
    logger.info(
        "upload %s: read and staged %d rows in %.2fs, upserted in %.2fs, rollups in %.2fs, "
        "committed in %.2fs",
        upload.pk, read.rows_staged, staged - started, applied - staged, refreshed - applied,
        time.perf_counter() - refreshed,
    )


class _Progress:
    """Rows done, written where the upload page sees them while the load runs.

    On PostgreSQL on a connection of its own: the load's may be inside its
    transaction (a first import reads the file there) or busy with a COPY.
    It never waits for a row lock: a missed update is only a stale bar."""

    # Seconds between two writes: a bar moving every second is live enough.
    EVERY = 1.0

    def __init__(self, upload_id: int, *, side_connection: bool) -> None:
        self.upload_id = upload_id
        self._side = side_connection
        self._connection: Any = None
        self._written = -self.EVERY

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._written < self.EVERY:
            return
        self._written = now
        if not self._side:
            Upload.objects.filter(pk=self.upload_id).update(rows_done=done, rows_total=total)
            return
        if self._connection is None:
            self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
        table = Upload._meta.db_table
        with self._connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET rows_done = %s, rows_total = %s WHERE id = "  # noqa: S608 (our table)
                f"(SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                [done, total, self.upload_id],
            )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
