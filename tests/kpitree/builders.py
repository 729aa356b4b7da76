"""Hand-built stores for the kpitree tests: orders and traffic through the ORM."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast

from stores.models import Customer, Order, Store, TrafficDaily
from tests.factories import StoreFactory

_numbers = itertools.count()


def make_store(**fields: Any) -> Store:
    return cast(Store, StoreFactory(**fields))


def buy(store: Store, who: str | None, day: date, amount: str, items: int = 1, *,
        paid: bool = True, inquired: bool | None = False, hour: int = 12) -> Order:
    """One order placed at ``hour`` local time; ``who`` None is a guest."""
    customer = None
    if who is not None:
        customer, _ = Customer.objects.get_or_create(store=store, external_id=who)
    placed = datetime.combine(day, time(hour), tzinfo=store.tzinfo)
    return Order.objects.create(
        store=store, external_id=f"o{next(_numbers)}", customer=customer, placed_at=placed,
        paid_at=placed if paid else None, status="paid" if paid else "unpaid",
        amount=Decimal(amount), items=items, channel="search", inquired=inquired,
    )


def visit(store: Store, day: date, channel: str, visitors: int,
          inquirers: int | None = None) -> None:
    TrafficDaily.objects.create(store=store, date=day, channel=channel, visitors=visitors,
                                inquirers=inquirers)
