from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stores.rollups.delta import RollupDelta


@dataclass
class LoadCounts:
    """What one load did to the real tables."""

    rows_loaded: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    customers_created: int = 0
    # Order lines inserted: the new orders' and those of orders whose lines changed.
    lines_written: int = 0
    traffic_created: int = 0
    traffic_updated: int = 0
    # The earliest local date of an order the load touched: the rollups are
    # refreshed from it (traffic is not in them).
    since: date | None = None
    # The touched customers' share of the rollups before the load's writes,
    # when the refresh adds up the difference (stores.rollups.delta).
    rollup_delta: RollupDelta | None = None
