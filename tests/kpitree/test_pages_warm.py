"""After a load, the store's first pages are already built: the first visit reads the cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import translation

from kpitree import pagecache, pages
from kpitree.periods import store_today
from stores.models import UploadStatus
from stores.services import upload_create
from stores.tasks import upload_process_task

pytestmark = pytest.mark.django_db


def _not_built() -> object:
    raise AssertionError("this page was not warmed")


def _orders_csv(store) -> bytes:
    # Yesterday: the customers page counts what was bought before today.
    day = store_today(store) - timedelta(days=1)
    rows = [f"W-{n},c-{n % 3},{day:%Y-%m-%d} 0{n}:00:00,,paid,{100 + n}.00,1" for n in range(1, 6)]
    return ("order_id,customer_id,placed_at,paid_at,status,amount,items\n" + "\n".join(rows)).encode()


def test_a_loaded_upload_leaves_the_first_pages_built_in_every_language(store):
    cache.clear()
    upload = upload_create(store=store, file=ContentFile(_orders_csv(store)), name="o.csv", enqueue=False)
    upload_process_task.delay(upload.pk)  # in-process here; on a worker in production
    upload.refresh_from_db()
    assert upload.status == UploadStatus.LOADED

    choice = pages.default_choice(store)
    version = pagecache.store_data_version(store)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            figures = pagecache.cached(
                store=store, version=version, per_language=True,
                parts=("diagnosis-figures", choice.period, choice.base), build=_not_built,
            )
            customers = pagecache.cached(
                store=store, parts=("customers", store_today(store)), per_language=True,
                build=_not_built,
            )
        assert "tree_items" in figures
        assert customers["customers_total"] == 3


def test_a_page_built_before_new_data_is_not_served_after_it(store):
    cache.clear()
    pages.pages_warm(store=store)
    before = pages.customer_page(store=store, as_of=store_today(store))
    upload = upload_create(store=store, file=ContentFile(_orders_csv(store)), name="o.csv", enqueue=False)
    upload_process_task.delay(upload.pk)
    after = pages.customer_page(store=store, as_of=store_today(store))
    assert before["customers_total"] == 0
    assert after["customers_total"] == 3
