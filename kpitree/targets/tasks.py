"""The daily attainment check: thin tasks that take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from kpitree.targets.services import alerts_record
from stores.models import Store
from stores.tasks import TRANSIENT_ERRORS


@shared_task(name="kpitree.attainment_check_all", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=2, retry_backoff_max=300,
             retry_jitter=True, max_retries=5)
def attainment_check_all() -> int:
    """Fan out one check per store; returns how many were enqueued."""
    ids = list(Store.objects.order_by("pk").values_list("pk", flat=True))
    for store_id in ids:
        attainment_check_store.delay(store_id)
    return len(ids)


@shared_task(name="kpitree.attainment_check_store", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=2, retry_backoff_max=300,
             retry_jitter=True, max_retries=5)
def attainment_check_store(store_id: int) -> int:
    """Recompute one store's attainment and record red transitions; returns
    how many records were written (0 on a second run the same day)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return len(alerts_record(store=store))
