"""Reads about uploads; permission checks go through stores.selectors."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from stores.models import Role, Store, Upload
from stores.selectors import AnyUser, store_get_for_user

#: Who may upload, see uploads and map columns.
UPLOAD_ROLES = (Role.ANALYST, Role.MANAGER)


def upload_store_get_for_user(*, user: AnyUser, slug: str) -> Store:
    return store_get_for_user(user=user, slug=slug, roles=UPLOAD_ROLES)


def upload_get_for_user(*, user: AnyUser, upload_id: int) -> Upload:
    """The upload if the user may upload to its store; Http404 otherwise."""
    upload = Upload.objects.select_related("store").filter(pk=upload_id).first()
    if upload is None:
        raise Http404("No such upload")
    store_get_for_user(user=user, slug=upload.store.slug, roles=UPLOAD_ROLES)
    return upload


def upload_list_for_store(*, store: Store, limit: int = 50) -> QuerySet[Upload]:
    return Upload.objects.filter(store=store).select_related("uploaded_by").order_by("-created_at")[:limit]


def upload_rejections_preview(*, upload: Upload, limit: int = 50) -> list[dict[str, str]]:
    """The first rejected rows, to show beside the download link."""
    if not upload.error_report:
        return []
    import csv
    import io
    from itertools import islice

    with upload.error_report.open("rb") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig")
        return list(islice(csv.DictReader(text), limit))
