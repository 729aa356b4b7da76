"""Small helpers for the ingestion tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from django.core.files.base import ContentFile
from django.db import connection

from stores.ingest.whole_orders import take_back
from stores.models import Customer, Order, OrderLine, Store, TrafficDaily, Upload
from stores.services import upload_create
from stores.upload_loading import upload_process

FIXTURES = Path(__file__).parent / "fixtures"

TABLES = (Order, OrderLine, Customer, TrafficDaily)


class ListStager:
    """Keeps what the pipeline stages, in memory (no database)."""

    catches_repeated_orders = False

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def stage(self, kind: str, frame: pd.DataFrame) -> None:
        self.frames.append(frame)

    def drop_held(self, order_ids: set[str]) -> pd.DataFrame:
        return take_back(self.frames, order_ids)

    def wait(self) -> None:
        """Nothing runs in the background."""

    def reset(self) -> None:
        self.frames.clear()

    @property
    def rows(self) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True)


def selling_in_euros(store: Store) -> None:
    """The Shopify fixture is an export in euros: the store must keep them."""
    store.currency = "EUR"
    store.save(update_fields=["currency"])


def upload_file(store: Store, path: Path | str, *, name: str | None = None, kind: str = "orders", **kwargs) -> Upload:
    path = Path(path) if not isinstance(path, Path) else path
    data = path.read_bytes() if path.exists() else Path(FIXTURES / path).read_bytes()
    return upload_bytes(store, data, name=name or path.name, kind=kind, **kwargs)


def upload_bytes(store: Store, data: bytes, *, name: str, kind: str = "orders", **kwargs) -> Upload:
    return upload_create(store=store, file=ContentFile(data), name=name, kind=kind, enqueue=False, **kwargs)


def load(store: Store, path: Path | str, **kwargs) -> Upload:
    upload = upload_file(store, path, **kwargs)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def table_fingerprint() -> dict[str, str]:
    """A checksum of every row of the real tables, to prove nothing changed."""
    out = {}
    with connection.cursor() as cursor:
        for model in TABLES:
            table = model._meta.db_table
            key = ", ".join(field.column for field in model._meta.pk_fields)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608
            out[table] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return out


def generic_orders_csv(path: Path, *, orders: int, start: int = 0, status: str = "paid", days: int = 20) -> Path:
    """A generic orders file with two lines per order (for load-size tests)."""
    with path.open("w") as fh:
        fh.write("order_id,customer_id,placed_at,paid_at,status,amount,sku,quantity,unit_price\n")
        for i in range(start, start + orders):
            day = 1 + i % days
            paid = f"2025-05-{day:02d} 10:05:00" if status == "paid" else ""
            head = f"O{i},C{i % 5000},2025-05-{day:02d} 10:00:00,{paid},{status},30.00"
            fh.write(f"{head},SKU{i % 50},1,10.00\n{head},SKU{(i + 1) % 50},2,10.00\n")
    return path


def paid_orders_csv(*placed: str) -> bytes:
    """One paid order per time (D0, D1... of customers c0, c1...), paid when placed."""
    rows = [f"D{i},c{i},{when},{when},paid,10.00" for i, when in enumerate(placed)]
    return ("order_id,customer_id,placed_at,paid_at,status,amount\n" + "\n".join(rows) + "\n").encode()


def load_bytes(store: Store, data: bytes, name: str = "daily.csv") -> Upload:
    upload = upload_bytes(store, data, name=name)
    upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload
