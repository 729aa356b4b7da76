from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """Campaign planning and evaluation (DOMAIN.md section 6): not built yet."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "campaigns"
    verbose_name = _("Campaigns")
