"""A cache for the diagnosis pages, keyed by the store's data version.

The trees, the daily series and the figures of a period only change when the
store's data does, so the key holds a version of the data (see
``store_data_versions``) and nothing has to remember to invalidate anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Max, OuterRef, Subquery
from django.utils.translation import get_language

from stores.models import SalesDaily, Store, Upload

T = TypeVar("T")
# A safety net only: versions already change with the data.
TIMEOUT_SECONDS = 60 * 60


def _latest(model: type[SalesDaily | Upload], field: str) -> Subquery:
    return Subquery(
        model.objects.filter(store=OuterRef("pk"))
        .order_by()
        .values("store")
        .annotate(latest=Max(field))
        .values("latest")[:1]
    )


def store_data_versions(stores: Iterable[Store]) -> dict[int, str]:
    """A version per store that changes whenever its data does, in one query.

    Order loads end in a rollup refresh that re-inserts the sales rollup rows
    of the affected days (so its largest id grows); traffic loads are uploads
    (so the latest finish time moves). The store's creation time keeps two
    stores that reuse a primary key (tests on SQLite) apart.
    """
    by_pk = {store.pk: store for store in stores}
    rows = (
        Store.objects.filter(pk__in=list(by_pk))
        .annotate(v_sales=_latest(SalesDaily, "id"), v_upload=_latest(Upload, "finished_at"))
        .values_list("pk", "v_sales", "v_upload")
    )
    return {
        pk: f"{pk}:{by_pk[pk].created_at.isoformat()}:{sales}:{upload}"
        for pk, sales, upload in rows
    }


def store_data_version(store: Store) -> str:
    return store_data_versions([store])[store.pk]


def cached(*, store: Store, parts: tuple[object, ...], build: Callable[[], T],
           per_language: bool = False, version: str | None = None) -> T:
    """``build()`` once per store data version and ``parts`` (and language when
    the value holds translated text, as figure labels do)."""
    version = version if version is not None else store_data_version(store)
    language = get_language() if per_language else ""
    raw = repr((version, parts, language)).encode()
    key = "kpi:page:" + hashlib.sha256(raw).hexdigest()
    value: T | None = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, TIMEOUT_SECONDS)
    return value
