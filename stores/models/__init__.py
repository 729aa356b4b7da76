"""Stores, the people in them, and the data that comes in.

Money is ``numeric`` (Decimal), times are timezone-aware UTC; each store has
its own time zone and currency, and every daily rollup is bucketed by the
store's local date. ``choices`` holds the vocabularies, ``store`` the stores
and their people, ``data`` what is loaded, ``uploads`` the uploads and what
a store teaches the loaders, ``rollups`` the daily rollups.
"""

from __future__ import annotations

from stores.models.choices import (
    PAID_STATUSES,
    Channel,
    DateOrder,
    DateOrderSource,
    DepartmentKind,
    Grain,
    OrderStatus,
    Platform,
    Role,
    Segment,
    UploadKind,
    UploadStatus,
    money_field,
    validate_currency,
    validate_timezone,
)
from stores.models.data import (
    Customer,
    Order,
    OrderLine,
    TrafficDaily,
)
from stores.models.rollups import (
    CustomerBaseDaily,
    CustomerDaily,
    SalesDaily,
)
from stores.models.store import (
    Department,
    Membership,
    Store,
)
from stores.models.uploads import (
    ChannelMapping,
    ColumnMapping,
    Upload,
    upload_path,
)

__all__ = [
    "PAID_STATUSES",
    "Channel",
    "ChannelMapping",
    "ColumnMapping",
    "Customer",
    "CustomerBaseDaily",
    "CustomerDaily",
    "DateOrder",
    "DateOrderSource",
    "Department",
    "DepartmentKind",
    "Grain",
    "Membership",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Platform",
    "Role",
    "SalesDaily",
    "Segment",
    "Store",
    "TrafficDaily",
    "Upload",
    "UploadKind",
    "UploadStatus",
    "money_field",
    "upload_path",
    "validate_currency",
    "validate_timezone",
]
