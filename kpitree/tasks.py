"""Celery autodiscovery looks for ``<app>.tasks``; the tasks live with their feature."""

from __future__ import annotations

from celery import shared_task

from kpitree.pages import pages_warm
from kpitree.targets.tasks import attainment_check_all, attainment_check_store
from stores.models import Store

__all__ = ["attainment_check_all", "attainment_check_store", "store_pages_warm"]


@shared_task(name="kpitree.store_pages_warm", acks_late=True, expires=60 * 30)
def store_pages_warm(store_id: int) -> bool:
    """After a load: build the store's first pages so nobody waits for them.
    Only a cache is written, so running it twice is harmless."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return False
    pages_warm(store=store)
    return True
