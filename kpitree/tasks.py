"""Celery autodiscovery looks for ``<app>.tasks``; the tasks live with their feature."""

from __future__ import annotations

from kpitree.targets.tasks import attainment_check_all, attainment_check_store

__all__ = ["attainment_check_all", "attainment_check_store"]
