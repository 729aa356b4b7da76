from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpitreeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kpitree"
    verbose_name = _("KPI trees")

    def ready(self) -> None:
        # Register the tasks in every process (web included), so that other
        # apps can enqueue them by name without importing kpitree.
        from kpitree import tasks  # noqa: F401
