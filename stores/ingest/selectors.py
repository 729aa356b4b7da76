"""Reads about uploads; permission checks go through stores.selectors."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from stores.models import DateOrder, Role, Store, Upload, UploadStatus
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


def upload_reread_refusal(*, upload: Upload) -> str:
    """Why the upload's dates such as 05/03/2025 cannot be read the other
    way, or "" when they can: it loaded, assumed an order, and no later file
    of its kind loaded since (reading it again would put back the older
    statuses and amounts it lists)."""
    if upload.status != UploadStatus.LOADED or DateOrder(upload.date_order_assumed).day_first is None:
        return _("This upload read no dates such as 05/03/2025 by an order it assumed: "
                 "there is nothing to read the other way.")
    later = (
        Upload.objects.filter(store_id=upload.store_id, kind=upload.kind, status=UploadStatus.LOADED,
                              finished_at__gt=upload.finished_at)
        .exclude(pk=upload.pk)
        .exists()
    )
    if later:
        return _("A later file of this kind has been loaded into the store since: loading this "
                 "one again would put back the older statuses and amounts it lists. Upload "
                 "the latest export again instead.")
    return ""


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
