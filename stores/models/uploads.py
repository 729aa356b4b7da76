"""Uploads, and what a store teaches the loaders: its channel names and
column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stores.models.choices import Channel, DateOrder, DateOrderSource, UploadKind, UploadStatus
from stores.models.store import Store


def upload_path(instance: Upload, filename: str) -> str:
    return f"uploads/{instance.store.slug}/{filename}"


class Upload(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    format = models.CharField(max_length=32, blank=True)
    file = models.FileField(upload_to=upload_path, max_length=500)
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_report = models.FileField(upload_to="reports/", blank=True, max_length=500)
    column_mapping = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why a file was refused, as a stable code (the message is in ``error``).
    error_code = models.CharField(max_length=32, blank=True)
    orders_unchanged = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    # For traffic exports without a date column (Sycm's source form).
    traffic_date = models.DateField(null=True, blank=True)
    # The header found in the file, shown on the mapping form.
    columns = models.JSONField(default=list, blank=True)
    # The language the uploader's pages were in: the worker writes the error
    # and the rejected rows' reasons in it (they are stored as text).
    language = models.CharField(max_length=16, blank=True)
    # The order dates such as 05/03/2025 were read by when the file did not
    # show it ("" when it did, or had none), and where that order came from.
    date_order_assumed = models.CharField(max_length=3, blank=True, choices=DateOrder.choices)
    date_order_source = models.CharField(max_length=8, blank=True, choices=DateOrderSource.choices)
    # A traffic file's day-and-channel figures: new ones, and ones that
    # replaced what an earlier file had loaded for that day and channel.
    traffic_created = models.PositiveIntegerField(default=0)
    traffic_updated = models.PositiveIntegerField(default=0)
    # Channel names in the file that no rule knew, loaded as other: name -> rows.
    unknown_channels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "checksum"], name="upload_store_checksum_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class ChannelMapping(models.Model):
    """A platform's name for a traffic source or order source, mapped onto our
    channels. Rows here win over the built-in defaults (stores/ingest/channels.py)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="channel_mappings")
    source_name = models.CharField(_("platform's name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "source_name"], name="channelmapping_unique_store_source"
            )
        ]
        ordering = ["store", "source_name"]
        verbose_name = _("channel mapping")
        verbose_name_plural = _("channel mappings")

    def __str__(self) -> str:
        return f"{self.source_name} -> {self.channel}"


class ColumnMapping(models.Model):
    """An analyst's mapping of a file's columns onto ours, reused whenever a
    file with the same header comes in for the store."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="column_mappings")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    # sha256 of the header's column names in order, to recognise the layout.
    header_key = models.CharField(max_length=64)
    columns = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # our column -> the file's column
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "header_key"], name="columnmapping_unique_store_header"
            )
        ]
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")

    def __str__(self) -> str:
        return f"{self.store}: {self.kind} ({len(self.columns)} columns)"
