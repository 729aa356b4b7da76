from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from stores.forms import ColumnMappingForm, UploadForm
from stores.ingest.selectors import (
    upload_get_for_user,
    upload_list_for_store,
    upload_rejections_preview,
    upload_reread_refusal,
    upload_store_get_for_user,
)
from stores.models import UploadStatus
from stores.selectors import store_list_for_user
from stores.services import NothingToReread, column_mapping_save, upload_create, upload_reread_dates


@login_required
def store_list(request: HttpRequest) -> HttpResponse:
    stores = store_list_for_user(user=request.user)
    return render(request, "stores/store_list.html", {"stores": stores})


# ---------------------------------------------------------------------------
# Uploads: analysts and managers of the store only (others get a 404).
# ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def upload_list(request: HttpRequest, slug: str) -> HttpResponse:
    store = upload_store_get_for_user(user=request.user, slug=slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = upload_create(
            store=store,
            file=form.cleaned_data["file"],
            name=form.cleaned_data["file"].name,
            kind=form.cleaned_data["kind"],
            format_key=form.cleaned_data["format"],
            traffic_date=form.cleaned_data["traffic_date"],
            user=request.user,  # type: ignore[arg-type]
        )
        return redirect("stores:upload_detail", slug=store.slug, upload_id=upload.pk)
    return render(
        request,
        "stores/upload_list.html",
        {"store": store, "form": form, "uploads": upload_list_for_store(store=store),
         "tab": "uploads", "can_upload": True},
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload_detail(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    upload = upload_get_for_user(user=request.user, upload_id=upload_id)
    if upload.store.slug != slug:
        raise Http404("No such upload")
    mapping_form = None
    if upload.status == UploadStatus.NEEDS_MAPPING:
        mapping_form = ColumnMappingForm(request.POST or None, kind=upload.kind, columns=list(upload.columns))
        if request.method == "POST" and mapping_form.is_valid():
            column_mapping_save(upload=upload, mapping=mapping_form.mapping(), user=request.user)  # type: ignore[arg-type]
            return redirect("stores:upload_detail", slug=slug, upload_id=upload.pk)
    return render(
        request,
        "stores/upload_detail.html",
        {
            "store": upload.store,
            "upload": upload,
            "mapping_form": mapping_form,
            "rejections": upload_rejections_preview(upload=upload),
            "can_reread": not upload_reread_refusal(upload=upload),
            "tab": "uploads",
            "can_upload": True,  # only uploaders reach these pages
        },
    )


@login_required
def upload_reread_dates_view(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    """The upload page's "read them day (month) first instead" button."""
    # Not require_POST: a GET answers 404 like every other way in that is not one.
    if request.method != "POST":
        raise Http404("No such page")
    upload = upload_get_for_user(user=request.user, upload_id=upload_id)
    if upload.store.slug != slug:
        raise Http404("No such upload")
    try:
        again = upload_reread_dates(upload=upload, user=request.user)
    except NothingToReread as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return redirect("stores:upload_detail", slug=slug, upload_id=again.pk)


@login_required
@require_GET
def upload_report(request: HttpRequest, slug: str, upload_id: int) -> FileResponse:
    upload = upload_get_for_user(user=request.user, upload_id=upload_id)
    if upload.store.slug != slug or not upload.error_report:
        raise Http404("No report")
    return FileResponse(
        upload.error_report.open("rb"),
        as_attachment=True,
        filename=f"rejected-rows-{upload.pk}.csv",
        content_type="text/csv",
    )
