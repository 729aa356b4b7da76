from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stores.models import Order
from tests.factories import CustomerFactory, OrderFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_order_external_id_is_unique_per_store(store, other_store):
    OrderFactory(store=store, external_id="A-1")
    OrderFactory(store=other_store, external_id="A-1")  # another store may reuse it
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(store=store, external_id="A-1")


def test_customer_external_id_is_unique_per_store(store, other_store):
    CustomerFactory(store=store, external_id="c1")
    CustomerFactory(store=other_store, external_id="c1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(store=store, external_id="c1")


def test_money_round_trips_as_decimal(store):
    order = OrderFactory(store=store, amount=Decimal("1234.57"))
    fresh = Order.objects.get(pk=order.pk)
    assert isinstance(fresh.amount, Decimal)
    assert fresh.amount == Decimal("1234.57")


def test_times_are_aware_and_stored_in_utc(store):
    order = OrderFactory(store=store, placed_at=datetime.fromisoformat("2025-11-11T00:05:00+08:00"))
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.placed_at.tzinfo is not None
    assert fresh.placed_at.utcoffset().total_seconds() == 0
    assert fresh.placed_at.isoformat() == "2025-11-10T16:05:00+00:00"


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Europe/London", "America/Los_Angeles"])
def test_store_accepts_iana_time_zones(tz):
    store = StoreFactory.build(slug="x", timezone=tz)
    store.full_clean()


@pytest.mark.parametrize(("field", "value"), [("timezone", "Mars/Olympus"), ("currency", "yuan")])
def test_store_rejects_bad_time_zone_and_currency(field, value):
    store = StoreFactory.build(slug="x", **{field: value})
    with pytest.raises(ValidationError) as excinfo:
        store.full_clean()
    assert field in excinfo.value.message_dict
