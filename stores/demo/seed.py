"""Write the demo stores, their data and the demo users to the database.

Bulk inserts through the ORM, so the same code runs on SQLite (``make
demo``) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from stores.bulk import rows_insert
from stores.demo.generate import StoreData, store_generate
from stores.demo.profiles import DEMO_PASSWORD, DEMO_STORES, DEMO_USERS, StoreProfile
from stores.models import (
    Customer,
    CustomerBaseDaily,
    CustomerDaily,
    Order,
    OrderLine,
    SalesDaily,
    Store,
    TrafficDaily,
)
from stores.rollups import rollups_refresh
from stores.services_admin import membership_grant, store_create


@dataclass(frozen=True)
class SeededStore:
    store: Store
    stage: str
    orders: int
    customers: int
    traffic_rows: int


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    stores: tuple[str, ...]  # store names


def demo_stores_exist() -> bool:
    return Store.objects.filter(slug__in=[profile.slug for profile in DEMO_STORES]).exists()


def demo_store_generate(
    *, profile: StoreProfile, store_no: int, seed: int, end: date, scale: float
) -> StoreData:
    """One demo store's data, in memory. Each store draws from its own
    stream of the seed, so one store's data does not depend on another's."""
    return store_generate(
        rng=np.random.default_rng([seed, store_no]),
        profile=profile,
        store_no=store_no,
        end=end,
        scale=scale,
    )


def demo_generate(*, seed: int, end: date, scale: float) -> dict[str, StoreData]:
    """Every demo store's data, in memory, by slug."""
    return {
        profile.slug: demo_store_generate(
            profile=profile, store_no=store_no, seed=seed, end=end, scale=scale
        )
        for store_no, profile in enumerate(DEMO_STORES, start=1)
    }


def _money(cents: np.ndarray) -> list[Decimal]:
    """Decimals with two places; built once per distinct amount (prices
    repeat), which is most of the cost at this size."""
    distinct, index = np.unique(cents, return_inverse=True)
    decimals = [Decimal(int(value)).scaleb(-2) for value in distinct]
    return [decimals[i] for i in index.tolist()]


def _aware(values: pd.Series) -> list[datetime | None]:
    """Aware UTC datetimes (None for NaT) from a datetime64[UTC] column."""
    missing = values.isna().to_numpy()
    converted = values.dt.to_pydatetime()
    return [None if gap else value for value, gap in zip(converted, missing, strict=True)]


def store_data_clear(*, store: Store) -> None:
    """Delete a store's orders, customers, traffic and rollups. Straight
    DELETEs: the ORM's cascade collector would load every order first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {OrderLine._meta.db_table} WHERE order_id IN "  # noqa: S608  (table names from the models)
            f"(SELECT id FROM {Order._meta.db_table} WHERE store_id = %s)",
            [store.pk],
        )
        for model in (Order, Customer, TrafficDaily, SalesDaily, CustomerDaily, CustomerBaseDaily):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE store_id = %s", [store.pk])  # noqa: S608


@transaction.atomic
def store_data_write(*, store: Store, data: StoreData) -> None:
    """Insert one store's generated rows (the store must have none)."""
    rows_insert(
        Customer,
        {"store_id": [store.pk] * len(data.customers), "external_id": data.customers.tolist()},
    )
    customer_pk = dict(Customer.objects.filter(store=store).values_list("external_id", "pk"))
    orders = data.orders
    rows_insert(
        Order,
        {
            "store_id": [store.pk] * len(orders),
            "external_id": orders["external_id"].tolist(),
            "customer_id": [customer_pk[ext] for ext in orders["customer"]],
            "placed_at": _aware(orders["placed_at"]),
            "paid_at": _aware(orders["paid_at"]),
            "status": orders["status"].tolist(),
            "amount": _money(orders["amount"].to_numpy()),
            "refunded_amount": _money(orders["refunded"].to_numpy()),
            "items": orders["items"].tolist(),
            "channel": orders["channel"].tolist(),
            "inquired": orders["inquired"].tolist(),
        },
    )
    order_pk = dict(Order.objects.filter(store=store).values_list("external_id", "pk"))
    order_ids = np.array([order_pk[ext] for ext in orders["external_id"]])
    lines = data.lines
    rows_insert(
        OrderLine,
        {
            "order_id": order_ids[lines["order"].to_numpy()].tolist(),
            "line_no": lines["line_no"].tolist(),
            "sku": lines["sku"].tolist(),
            "title": lines["title"].tolist(),
            "quantity": lines["quantity"].tolist(),
            "unit_price": _money(lines["unit_price"].to_numpy()),
            "amount": _money(lines["amount"].to_numpy()),
        },
    )
    traffic = data.traffic
    rows_insert(
        TrafficDaily,
        {
            "store_id": [store.pk] * len(traffic),
            "date": traffic["date"].tolist(),
            "channel": traffic["channel"].tolist(),
            "visitors": traffic["visitors"].tolist(),
            "page_views": traffic["page_views"].tolist(),
            "inquirers": traffic["inquirers"].tolist(),
            "inquiry_placers": traffic["inquiry_placers"].tolist(),
        },
    )


def demo_store_seed(
    *, profile: StoreProfile, store_no: int, seed: int, end: date, scale: float
) -> SeededStore:
    """Create (or reset) one demo store and fill it with generated data."""
    store, _created = store_create(
        slug=profile.slug,
        name=profile.name,
        platform=profile.platform,
        currency=profile.currency,
        timezone=profile.timezone,
        category=profile.category,
    )
    data = demo_store_generate(profile=profile, store_no=store_no, seed=seed, end=end, scale=scale)
    with transaction.atomic():
        store_data_clear(store=store)
        store_data_write(store=store, data=data)
        rollups_refresh(store=store, since=None)
    return SeededStore(
        store=store,
        stage=profile.stage,
        orders=len(data.orders),
        customers=len(data.customers),
        traffic_rows=len(data.traffic),
    )


def demo_users_ensure() -> list[DemoLogin]:
    """The demo logins, with the published password and their roles reset
    to the demo's, whatever was changed since."""
    user_model = get_user_model()
    names = dict(
        Store.objects.filter(slug__in=[p.slug for p in DEMO_STORES]).values_list("slug", "name")
    )
    logins = []
    for demo in DEMO_USERS:
        user, _created = user_model.objects.get_or_create(username=demo.username)
        user.set_password(DEMO_PASSWORD)
        user.is_active = True
        user.is_superuser = user.is_staff = demo.role == "superuser"
        user.save()
        for slug in demo.stores:
            membership_grant(
                store=Store.objects.get(slug=slug), username=demo.username, role=demo.role
            )
        stores = tuple(names[slug] for slug in demo.stores) or ("all stores",)
        logins.append(DemoLogin(demo.username, DEMO_PASSWORD, demo.role, stores))
    return logins


def demo_seed(
    *, seed: int, end: date, scale: float, log: Callable[[str], None] = lambda _: None
) -> list[SeededStore]:
    """Every demo store, then the demo users."""
    seeded = []
    for store_no, profile in enumerate(DEMO_STORES, start=1):
        result = demo_store_seed(
            profile=profile, store_no=store_no, seed=seed, end=end, scale=scale
        )
        log(f"{profile.name}: {result.orders:,} orders, {result.customers:,} customers")
        seeded.append(result)
    return seeded
