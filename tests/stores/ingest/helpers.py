"""Small helpers for the ingestion tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import connection

from stores.models import Customer, Order, OrderLine, Store, TrafficDaily, Upload
from stores.services import upload_create, upload_process

FIXTURES = Path(__file__).parent / "fixtures"

TABLES = (Order, OrderLine, Customer, TrafficDaily)


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
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
            out[table] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return out
