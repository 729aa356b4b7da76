"""The same contract as load_postgres on any database (SQLite for the demo):
rows held in memory until the load, then bulk ORM upserts.

Meant for demo-sized files; PostgreSQL takes the COPY path.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from stores.ingest.results import LoadCounts
from stores.ingest.whole_orders import take_back
from stores.models import Customer, Order, OrderLine, Store, TrafficDaily, Upload
from stores.rollups.refresh import update_customer_lifetimes

_CENT = Decimal("0.01")
_RANK = {"closed": 1, "unpaid": 2, "refunded": 3, "paid": 4}
_BY_RANK = {v: k for k, v in _RANK.items()}


class OrmStager:
    catches_repeated_orders = False  # the orders are added up when applied

    def __init__(self) -> None:
        self.frames: dict[str, list[pd.DataFrame]] = {}

    @property
    def kinds(self) -> set[str]:
        return set(self.frames)

    def stage(self, kind: str, frame: pd.DataFrame) -> None:
        self.frames.setdefault(kind, []).append(frame)

    def drop_held(self, order_ids: set[str]) -> pd.DataFrame:
        """Take back the last chunk's rows of these orders (a later line of
        theirs was refused); their row_no and order_id."""
        return take_back(self.frames.get("orders", []), order_ids)

    def wait(self) -> None:
        """Nothing runs in the background here."""

    def finish(self) -> None:
        """Every frame is held as it came."""

    def reset(self) -> None:
        self.frames.clear()

    def close(self) -> None:
        self.frames.clear()


def lock_store(store: Store) -> None:
    # A row lock on the store serialises loads where the database has row
    # locks; SQLite serialises every writer anyway.
    list(Store.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True))


def _money(value: object) -> Decimal:
    """To the cent, half away from zero, as PostgreSQL's numeric(16, 2) rounds."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return Decimal("0.00")
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)  # type: ignore[arg-type]


def _decimals(text: pd.Series) -> pd.Series:
    """Money text as exact Decimals (None where absent): no float on the way."""
    return pd.Series(
        [None if t is None or pd.isna(t) else Decimal(str(t)) for t in text], index=text.index, dtype=object
    )


def _line_values(df: pd.DataFrame) -> pd.Series:
    return pd.Series(
        [None if pd.isna(q) or u is None else int(q) * u for q, u in zip(df["quantity"], df["unit_price"], strict=True)],
        index=df.index, dtype=object,
    )


def _aggregate(df: pd.DataFrame) -> pd.DataFrame:
    for name in ("amount", "refunded_amount", "line_amount", "line_refund", "unit_price"):
        df[name] = _decimals(df[name])
    df["line_value"] = _line_values(df)
    df["rank"] = df["status"].map(_RANK)
    g = df.groupby("order_id", sort=False)
    agg = pd.DataFrame(
        {
            "placed_at": g["placed_at"].min(),
            "paid_at": g["paid_at"].max(),
            "customer_id": g["customer_id"].max(),
            "status": g["rank"].max().map(_BY_RANK),
            "amount": g["amount"].max()
            .fillna(g["line_amount"].sum(min_count=1))
            .fillna(g["line_value"].sum(min_count=1))
            .fillna(0),
            "refunded_amount": g["refunded_amount"].max().fillna(g["line_refund"].sum(min_count=1)).fillna(0),
            "items": g["items"].max().fillna(g["quantity"].sum(min_count=1)).fillna(0),
            "channel": g["channel"].max().fillna("other"),
            "inquired": g["inquired"].max(),
        }
    )
    return agg


def apply(*, stager: OrmStager, store: Store, upload: Upload) -> LoadCounts:
    """Upsert the staged rows. Call inside transaction.atomic() after lock_store()."""
    counts = LoadCounts()
    if "orders" in stager.frames:
        _apply_orders(pd.concat(stager.frames["orders"], ignore_index=True), store, upload, counts)
    if "traffic" in stager.frames:
        _apply_traffic(pd.concat(stager.frames["traffic"], ignore_index=True), store, upload, counts)
    return counts


def _apply_orders(df: pd.DataFrame, store: Store, upload: Upload, counts: LoadCounts) -> None:
    counts.rows_loaded = len(df)
    agg = _aggregate(df.copy())
    ids = list(agg.index)
    existing = {o.external_id: o for o in Order.objects.filter(store=store, external_id__in=ids)}
    earliest = [o.placed_at for o in existing.values()] + [agg["placed_at"].min()]

    wanted = set(agg["customer_id"].dropna())
    known = set(Customer.objects.filter(store=store, external_id__in=wanted).values_list("external_id", flat=True))
    Customer.objects.bulk_create(
        [Customer(store=store, external_id=c) for c in sorted(wanted - known)], batch_size=1000
    )
    counts.customers_created = len(wanted - known)
    customer_ids = dict(
        Customer.objects.filter(store=store, external_id__in=wanted).values_list("external_id", "id")
    )

    fields = ["customer_id", "placed_at", "paid_at", "status", "amount", "refunded_amount", "items", "channel", "inquired"]
    to_create: list[Order] = []
    to_update: list[Order] = []
    # Customers whose lifetimes the load changes: the file's, and those an
    # order was moved away from.
    touched = set(customer_ids.values())
    for order_id, row in agg.iterrows():
        values = {
            "customer_id": customer_ids.get(row["customer_id"]) if pd.notna(row["customer_id"]) else None,
            "placed_at": row["placed_at"].to_pydatetime(),
            "paid_at": None if pd.isna(row["paid_at"]) else row["paid_at"].to_pydatetime(),
            "status": row["status"],
            "amount": _money(row["amount"]),
            "refunded_amount": _money(row["refunded_amount"]),
            "items": int(row["items"]),
            "channel": row["channel"],
            "inquired": None if pd.isna(row["inquired"]) else bool(row["inquired"]),
        }
        current = existing.get(str(order_id))
        if current is None:
            to_create.append(Order(store=store, external_id=order_id, upload=upload, **values))
        elif any(getattr(current, f) != v for f, v in values.items()):
            if current.customer_id is not None:
                touched.add(current.customer_id)
            for f, v in values.items():
                setattr(current, f, v)
            current.upload = upload
            to_update.append(current)
    Order.objects.bulk_create(to_create, batch_size=1000)
    Order.objects.bulk_update(to_update, [*fields, "upload", "updated_at"], batch_size=1000)
    counts.orders_created, counts.orders_updated = len(to_create), len(to_update)
    counts.orders_unchanged = len(existing) - len(to_update)
    ids = sorted(touched)
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        update_customer_lifetimes(
            store, f"SELECT id AS customer_id FROM {Customer._meta.db_table} "  # noqa: S608 (our table)
            f"WHERE id IN ({', '.join(['%s'] * len(batch))})", batch,
        )

    lines = df[df["quantity"].notna()].sort_values("row_no", kind="stable")
    if len(lines):
        order_pk = dict(Order.objects.filter(store=store, external_id__in=list(lines["order_id"].unique())).values_list("external_id", "id"))
        OrderLine.objects.filter(order_id__in=list(order_pk.values())).delete()
        line_no = lines.groupby("order_id", sort=False).cumcount() + 1
        lines = lines.assign(unit_price=_decimals(lines["unit_price"]))
        unit = lines["unit_price"]
        amount = _decimals(lines["line_amount"]).fillna(_line_values(lines))
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order_id=order_pk[oid], line_no=int(no), sku=sku if isinstance(sku, str) else "",
                    title=title if isinstance(title, str) else "", quantity=int(q),
                    unit_price=_money(u), amount=_money(a),
                )
                for oid, no, sku, title, q, u, a in zip(
                    lines["order_id"], line_no, lines["sku"], lines["title"], lines["quantity"], unit, amount, strict=True
                )
            ],
            batch_size=1000,
        )
        counts.lines_written = len(lines)
    first = min(earliest)
    counts.since = first.astimezone(store.tzinfo).date()


def _apply_traffic(df: pd.DataFrame, store: Store, upload: Upload, counts: LoadCounts) -> None:
    counts.rows_loaded += len(df)
    agg = df.groupby(["date", "channel"], sort=True).agg(
        visitors=("visitors", "sum"),
        page_views=("page_views", "sum"),
        inquirers=("inquirers", lambda s: s.sum() if s.notna().any() else np.nan),
        inquiry_placers=("inquiry_placers", lambda s: s.sum() if s.notna().any() else np.nan),
    )
    existing = set(
        TrafficDaily.objects.filter(store=store, date__in=list({d for d, _ in agg.index})).values_list("date", "channel")
    )
    rows = [
        TrafficDaily(
            store=store, date=d, channel=c, visitors=int(r.visitors), page_views=int(r.page_views),
            inquirers=None if pd.isna(r.inquirers) else int(r.inquirers),
            inquiry_placers=None if pd.isna(r.inquiry_placers) else int(r.inquiry_placers),
            upload=upload,
        )
        for (d, c), r in agg.iterrows()
    ]
    TrafficDaily.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["store", "date", "channel"],
        update_fields=["visitors", "page_views", "inquirers", "inquiry_placers", "upload"],
    )
    counts.traffic_updated = sum(1 for r in rows if (r.date, r.channel) in existing)
    counts.traffic_created = len(rows) - counts.traffic_updated
    # The same file loaded before, its names mapped otherwise then: the
    # figures it gave that this reading does not are gone (moved channel).
    stale, _kinds = TrafficDaily.objects.filter(
        store=store, upload__checksum=upload.checksum, date__in={d for d, _ in agg.index},
    ).exclude(upload=upload).delete()
    counts.traffic_updated += stale
