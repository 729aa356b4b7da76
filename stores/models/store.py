"""A store, the people in it and its departments."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from stores.models.choices import (
    DateOrder,
    DepartmentKind,
    Platform,
    Role,
    validate_currency,
    validate_timezone,
)


class Store(models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", validators=[validate_currency]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone]
    )
    category = models.CharField(_("category"), max_length=100, blank=True)
    nurture_window_days = models.PositiveIntegerField(
        _("nurture window (days)"), default=90, validators=[MinValueValidator(1)]
    )
    churn_window_days = models.PositiveIntegerField(
        _("churn window (days)"), default=180, validators=[MinValueValidator(1)]
    )
    # The zone and windows the stored rollups were computed under
    # (stores.rollups.refresh.rollups_basis): others mean computing them all again.
    rollups_basis = models.CharField(max_length=100, blank=True, editable=False)
    # When the store's channel table last changed: a file loaded before then
    # may be loaded again (its names now map elsewhere), not refused as a twin.
    channels_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Learnt from the files that show it (a 13/03/2025), and used for those
    # that do not: a store's small daily export often has only days 1-12.
    date_order = models.CharField(
        _("dates like 05/03/2025"), max_length=3, blank=True, choices=DateOrder.choices,
        help_text=_(
            "How this store's files write dates whose day and month are both 12 or less. "
            "Set from the first file that shows it; a file that shows the other order changes it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="membership_unique_user_store")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.store} ({self.role})"


class Department(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="departments")
    kind = models.CharField(_("kind"), max_length=20, choices=DepartmentKind.choices)
    name = models.CharField(_("name"), max_length=100)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_departments",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "kind"], name="department_unique_store_kind")
        ]
        ordering = ["store", "kind"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return f"{self.store}: {self.name}"
