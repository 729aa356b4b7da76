from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
    # The earliest local date the load touched: rollups are refreshed from it.
    since: date | None = None
