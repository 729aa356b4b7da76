"""Daily rollups the KPI trees are evaluated from (see stores.models)."""

from __future__ import annotations

from stores.rollups.refresh import RollupRefreshResult, rollups_refresh

__all__ = ["RollupRefreshResult", "rollups_refresh"]
