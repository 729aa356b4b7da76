from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext as _

from stores.models import (
    ChannelMapping,
    ColumnMapping,
    Department,
    Membership,
    Store,
    TrafficDaily,
    Upload,
)
from stores.services_admin import store_settings_changed


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "platform", "category", "currency", "timezone", "date_order"]
    list_filter = ["platform", "category", "date_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, DepartmentInline]

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and store_settings_changed(store=obj, fields=form.changed_data):
            self.message_user(request, _(
                "The time zone or the windows changed: the store's figures are being computed again."))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "role"]
    list_filter = ["role", "store"]
    search_fields = ["user__username", "store__name"]
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "store", "head"]
    list_filter = ["kind", "store"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["original_name", "store", "kind", "status", "rows_loaded", "created_at"]
    list_filter = ["status", "kind", "store"]
    readonly_fields = ["checksum", "created_at", "started_at", "finished_at"]


@admin.register(TrafficDaily)
class TrafficDailyAdmin(admin.ModelAdmin):
    list_display = ["store", "date", "channel", "visitors", "inquirers"]
    list_filter = ["store", "channel"]
    date_hierarchy = "date"


@admin.register(ChannelMapping)
class ChannelMappingAdmin(admin.ModelAdmin):
    """Each store's table of platform channel names onto our channels."""

    list_display = ["store", "source_name", "channel"]
    list_filter = ["store", "channel"]
    list_editable = ["channel"]
    search_fields = ["source_name", "store__name"]


@admin.register(ColumnMapping)
class ColumnMappingAdmin(admin.ModelAdmin):
    list_display = ["store", "kind", "created_by", "updated_at"]
    list_filter = ["store", "kind"]
    readonly_fields = ["header_key", "columns", "updated_at"]
