from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from stores.channel_table import channel_names_unknown, channel_table, channel_table_save
from stores.forms import ChannelRowFormSet, ColumnMappingForm, StoreSettingsForm, UploadForm
from stores.ingest.channels import DEFAULT_RULES, OWN_NAMES
from stores.ingest.selectors import (
    upload_get_for_user,
    upload_list_for_store,
    upload_rejections_preview,
    upload_reread_refusal,
    upload_store_get_for_user,
)
from stores.models import Role, UploadStatus
from stores.selectors import store_list_for_user, user_role_in_store
from stores.services import NothingToReread, column_mapping_save, upload_create, upload_reread_dates
from stores.services_admin import store_settings_changed


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


#: Empty rows under the table, for names not met yet.
NEW_CHANNEL_ROWS = 3


@login_required
@require_http_methods(["GET", "POST"])
def channel_table_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The store's channel names: its own table, the names its uploads met
    that nothing knew, and rows to add. Analysts and managers only."""
    store = upload_store_get_for_user(user=request.user, slug=slug)
    own = channel_table(store=store)
    unknown = channel_names_unknown(store=store)
    initial = (
        [{"name": name, "channel": channel} for name, channel in sorted(own.items())]
        + [{"name": u.name, "channel": ""} for u in unknown]
        + [{"name": "", "channel": ""}] * NEW_CHANNEL_ROWS
    )
    formset = ChannelRowFormSet(request.POST or None, initial=initial)
    if request.method == "POST" and formset.is_valid():
        changed = channel_table_save(store=store, channels={
            row["name"]: row.get("channel", "") for row in formset.cleaned_data if row.get("name")})
        messages.success(request, _(
            "%(count)d channel names saved. They apply to the files loaded from now on; upload a file "
            "loaded before again to read its names this way.") % {"count": changed})
        return redirect("stores:channel_table", slug=store.slug)
    rows_of = {u.name: u for u in unknown}
    return render(request, "stores/channel_table.html", {
        "store": store, "formset": formset, "tab": "channels", "can_upload": True,
        "rows": [(form, name in own, rows_of.get(name)) for form, name in
                 zip(formset, [i["name"] for i in initial], strict=False)],
        "own_names": sorted(OWN_NAMES.items()), "rules": DEFAULT_RULES,
    })


@login_required
@require_http_methods(["GET", "POST"])
def store_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The store's time zone, date order and customer windows: analysts see
    them (they decide how uploads are read), managers change them."""
    store = upload_store_get_for_user(user=request.user, slug=slug)
    can_edit = user_role_in_store(user=request.user, store=store) == Role.MANAGER
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    form = StoreSettingsForm(request.POST or None, instance=store)
    if request.method == "POST" and form.is_valid():
        form.save()
        if store_settings_changed(store=store, fields=form.changed_data):
            messages.success(request, _("Saved. The store's figures are being computed again "
                                        "under the new time zone or windows."))
        else:
            messages.success(request, _("Saved."))
        return redirect("stores:store_settings", slug=store.slug)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "stores/store_settings.html", {
        "store": store, "form": form, "can_edit": can_edit, "tab": "settings", "can_upload": True})
